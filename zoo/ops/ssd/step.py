"""One-token recurrent update of the Mamba-2 SSD layer, for decoding.

`update` is the recurrence itself; the sequential oracle (`naive`) loops over it.
"""
from __future__ import annotations

import torch

from ..checks import Dims, check_divisible, compute_dtype, grouped
from ..selective_scan.common import decay, finish, prepare_delta


def update(h, x_t, dt_t, A, B_t, C_t):
    """h: (batch, nheads, headdim, dstate); x_t: (batch, nheads, headdim); dt_t: (batch, nheads);
    A: (nheads,); B_t, C_t: (batch, nheads, dstate). Returns (y_t, h_next), y_t = h_next C_t."""
    h = decay(dt_t * A)[..., None, None] * h + (dt_t[..., None] * x_t)[..., None] * B_t[:, :, None, :]
    return (h * C_t[:, :, None, :]).sum(-1), h


def d_shape(D):
    """D is (nheads,) or (nheads, headdim); either broadcasts over (..., nheads, headdim)."""
    return (-1, 1) if D is None or D.dim() == 1 else tuple(D.shape)


def ssd_step(state, x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False):
    """Advance `state` (batch, nheads, headdim, dstate) by one token; returns (y, new_state).

    x, z: (batch, nheads, headdim); dt: (batch, nheads); A, dt_bias: (nheads,);
    B, C: (batch, ngroups, dstate) or (batch, dstate); D: (nheads,) or (nheads, headdim).
    """
    dims = Dims()
    device = x.device if isinstance(x, torch.Tensor) else None
    dims.check("x", x, ("batch", "nheads", "headdim"), device)
    dims.check("dt", dt, ("batch", "nheads"), device)
    dims.check("A", A, ("nheads",), device)
    dims.check("state", state, ("batch", "nheads", "headdim", "dstate"), device)
    B, C = (grouped(dims, name, t, device, ("dstate",)) for name, t in (("B", B), ("C", C)))
    check_divisible("nheads", x.shape[1], "ngroups", B.shape[1])
    _check_D(dims, D, device)
    dims.check("z", z, ("batch", "nheads", "headdim"), device, optional=True)
    dims.check("dt_bias", dt_bias, ("nheads",), device, optional=True)
    dtype = compute_dtype(x, dt, A, B, C, state)
    dt = prepare_delta(dt, dt_bias, dt_softplus, dtype, bias_shape=(-1,))
    repeat = x.shape[1] // B.shape[1]
    y, new_state = update(state.to(dtype), x.to(dtype), dt, A.to(dtype),
                          B.to(dtype).repeat_interleave(repeat, dim=1), C.to(dtype).repeat_interleave(repeat, dim=1))
    return finish(y, x, D, z, x.dtype, d_shape=d_shape(D)), new_state


def _check_D(dims, D, device):
    if D is not None and isinstance(D, torch.Tensor) and D.dim() == 2:
        dims.check("D", D, ("nheads", "headdim"), device)
    else:
        dims.check("D", D, ("nheads",), device, optional=True)
