"""Sequential reference for SSD (the oracle): one `step.update` per token, float32 or float64.

`chunk_size` does not change the result; the oracle ignores it.
"""
from __future__ import annotations

import torch

from ..checks import compute_dtype
from ..selective_scan.common import finish, prepare_delta
from .step import d_shape, update


def scan(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states, reverse, mask):
    """Validated inputs, B and C as (batch, seqlen, ngroups, dstate). Returns (y, final_states)."""
    dtype = compute_dtype(x, dt, A, B, C, initial_states)
    batch, seqlen, nheads, headdim = x.shape
    repeat = nheads // B.shape[2]
    xf = x.to(dtype)
    dt = prepare_delta(dt, dt_bias, dt_softplus, dtype, bias_shape=(-1,), keep=None if mask is None else mask[..., None])
    A = A.to(dtype)
    B = B.to(dtype).repeat_interleave(repeat, dim=2)
    C = C.to(dtype).repeat_interleave(repeat, dim=2)
    h = xf.new_zeros(batch, nheads, headdim, B.shape[-1]) if initial_states is None else initial_states.to(dtype)
    steps = list(zip(xf.unbind(1), dt.unbind(1), B.unbind(1), C.unbind(1)))  # unbind: see selective_scan.naive
    ys = [None] * seqlen
    for t in (reversed(range(seqlen)) if reverse else range(seqlen)):
        x_t, dt_t, B_t, C_t = steps[t]
        ys[t], h = update(h, x_t, dt_t, A, B_t, C_t)
    return finish(torch.stack(ys, dim=1), xf, D, z, x.dtype, d_shape=d_shape(D)), h
