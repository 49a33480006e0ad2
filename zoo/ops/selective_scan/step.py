"""One-token recurrent update of the Mamba-1 selective SSM, for decoding.

`update` is the recurrence itself; the sequential oracle (`naive`) loops over it,
so the step and the oracle cannot drift apart.
"""
from __future__ import annotations

import torch

from ..checks import Dims, check_divisible, compute_dtype, grouped
from .common import decay, finish, prepare_delta


def update(h, u_t, delta_t, A, B_t, C_t):
    """h: (batch, dim, dstate); u_t, delta_t: (batch, dim); B_t, C_t: (batch, dim, dstate).
    Returns (y_t, h_next) with y_t = C_t . h_next (no D, no gate)."""
    h = decay(delta_t[..., None] * A) * h + (delta_t * u_t)[..., None] * B_t
    return (h * C_t).sum(-1), h


def selective_scan_step(state, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Advance `state` (batch, dim, dstate) by one token and return (out, new_state).

    u, delta, z: (batch, dim); A: (dim, dstate); B, C: (batch, dstate) or (batch, groups, dstate);
    D, delta_bias: (dim,). Unlike mamba_ssm's selective_state_update, `state` is not modified in place.
    """
    dims = Dims()
    device = u.device if isinstance(u, torch.Tensor) else None
    dims.check("u", u, ("batch", "dim"), device)
    dims.check("delta", delta, ("batch", "dim"), device)
    dims.check("A", A, ("dim", "dstate"), device)
    dims.check("state", state, ("batch", "dim", "dstate"), device)
    B, C = (grouped(dims, name, t, device, ("dstate",)) for name, t in (("B", B), ("C", C)))
    dims.check("D", D, ("dim",), device, optional=True)
    dims.check("z", z, ("batch", "dim"), device, optional=True)
    dims.check("delta_bias", delta_bias, ("dim",), device, optional=True)
    dim, groups = u.shape[1], B.shape[1]
    check_divisible("dim", dim, "groups", groups)
    dtype = compute_dtype(u, delta, A, B, C, state)
    delta = prepare_delta(delta, delta_bias, delta_softplus, dtype, bias_shape=(-1,))
    expand = lambda t: t.to(dtype).repeat_interleave(dim // groups, dim=1)  # noqa: E731
    y, new_state = update(state.to(dtype), u.to(dtype), delta, A.to(dtype), expand(B), expand(C))
    return finish(y, u, D, z, u.dtype, d_shape=(-1,)), new_state

