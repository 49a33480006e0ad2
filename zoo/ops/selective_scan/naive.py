"""Sequential reference (the oracle): one `step.update` per token, in float32 or float64."""
from __future__ import annotations

import torch

from ..checks import compute_dtype
from .common import finish, prepare_delta
from .step import update


def scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse):
    """Validated inputs, B and C grouped as (batch, groups, dstate, seqlen). Returns (out, last_state)."""
    dtype = compute_dtype(u, delta, A, B, C, initial_state)
    batch, dim, seqlen = u.shape
    repeat = dim // B.shape[1]
    uf = u.to(dtype)
    delta = prepare_delta(delta, delta_bias, delta_softplus, dtype)
    A = A.to(dtype)
    B = B.to(dtype).repeat_interleave(repeat, dim=1)
    C = C.to(dtype).repeat_interleave(repeat, dim=1)
    h = uf.new_zeros(batch, dim, A.shape[1]) if initial_state is None else initial_state.to(dtype)
    ys = [None] * seqlen
    for t in (reversed(range(seqlen)) if reverse else range(seqlen)):
        ys[t], h = update(h, uf[:, :, t], delta[:, :, t], A, B[..., t], C[..., t])
    return finish(torch.stack(ys, dim=-1), uf, D, z, u.dtype), h
