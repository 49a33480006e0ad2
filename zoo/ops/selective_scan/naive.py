"""Sequential reference (the oracle): one `step.update` per token, in float32 or float64."""
from __future__ import annotations

import torch

from ..checks import compute_dtype
from .common import finish, per_token, prepare_delta
from .step import update


def scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse, mask):
    """Validated inputs, B and C grouped as (batch, groups, dstate, seqlen) or time-invariant (dim, dstate).
    Returns (out, last_state)."""
    dtype = compute_dtype(u, delta, A, B, C, initial_state)
    batch, dim, seqlen = u.shape
    B, C = per_token(B, batch, seqlen), per_token(C, batch, seqlen)
    repeat = dim // B.shape[1]
    uf = u.to(dtype)
    delta = prepare_delta(delta, delta_bias, delta_softplus, dtype, keep=None if mask is None else mask[:, None])
    A = A.to(dtype)
    B = B.to(dtype).repeat_interleave(repeat, dim=1)
    C = C.to(dtype).repeat_interleave(repeat, dim=1)
    h = uf.new_zeros(batch, dim, A.shape[1]) if initial_state is None else initial_state.to(dtype)
    # unbind, not x[..., t]: indexing inside the loop makes every step's backward allocate a
    # full-length zero tensor, which turns the oracle's backward quadratic in seqlen
    steps = list(zip(uf.unbind(-1), delta.unbind(-1), B.unbind(-1), C.unbind(-1)))
    ys = [None] * seqlen
    for t in (reversed(range(seqlen)) if reverse else range(seqlen)):
        u_t, delta_t, B_t, C_t = steps[t]
        ys[t], h = update(h, u_t, delta_t, A, B_t, C_t)
    return finish(torch.stack(ys, dim=-1), uf, D, z, u.dtype), h
