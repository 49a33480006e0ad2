"""Mamba-1 selective scan (S6): diagonal A per channel and state.

Layouts follow mamba_ssm's `selective_scan_fn`, plus `initial_state`, `reverse` and `mask`.
"""
from __future__ import annotations

import torch

from .. import dispatch
from ..checks import Dims, check_divisible, check_mask, grouped
from .step import selective_scan_step

__all__ = ["selective_scan", "selective_scan_step"]


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   initial_state=None, return_last_state=False, reverse=False, mask=None, backend="auto"):
    """h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t,  y_t = C_t . h_t + D u_t,  out = y * silu(z).

    u, delta, z: (batch, dim, seqlen); A: (dim, dstate); B, C: (batch, dstate, seqlen) or grouped
    (batch, groups, dstate, seqlen), channel d using group d // (dim // groups), or time-invariant
    (dim, dstate), the same for every token and batch row (S4D; both B and C, never one of them: the
    fused backend then reads each channel's own vectors instead of (batch, dim, dstate, seqlen) copies);
    D, delta_bias: (dim,);
    initial_state: (batch, dim, dstate). delta gets delta_bias added, then softplus if asked.
    reverse=True runs the recurrence from the last token to the first.
    mask: (batch, seqlen), False (or 0) at padding: there delta is 0, so the state passes through
    unchanged; the output at a masked position is still C_t . h_t + D u_t, for the caller to ignore.
    Returns out (dtype of u), or (out, last_state) with last_state (batch, dim, dstate) in float32
    (float64 for float64 inputs). backend: auto | naive | chunked | fused | triton.
    """
    B, C, mask = _validate(u, delta, A, B, C, D, z, delta_bias, initial_state, mask)
    inputs = dict(u=u, delta=delta, A=A, B=B, C=C, D=D, z=z, delta_bias=delta_bias,
                  delta_softplus=bool(delta_softplus), initial_state=initial_state, reverse=bool(reverse), mask=mask)
    name = dispatch.resolve("selective_scan", backend, u.device, inputs)
    out, last_state = dispatch.backend_module("selective_scan", name).scan(**inputs)
    dispatch.note_used("selective_scan", name, u.device)
    return (out, last_state) if return_last_state else out


def _validate(u, delta, A, B, C, D, z, delta_bias, initial_state, mask):
    dims = Dims()
    device = u.device if isinstance(u, torch.Tensor) else None
    dims.check("u", u, ("batch", "dim", "seqlen"), device)
    if u.shape[-1] < 1:
        raise ValueError(f"u has shape {tuple(u.shape)}: seqlen must be at least 1")
    dims.check("delta", delta, ("batch", "dim", "seqlen"), device)
    dims.check("A", A, ("dim", "dstate"), device)
    if _invariant(B) or _invariant(C):
        if not (_invariant(B) and _invariant(C)):
            raise ValueError(f"B has shape {tuple(B.shape)} and C {tuple(C.shape)}: time-invariant B and C, "
                             f"(dim, dstate), go together; expand the other one to (batch, dim, dstate, seqlen)")
        B, C = (dims.check(name, t, ("dim", "dstate"), device) for name, t in (("B", B), ("C", C)))
    else:
        B, C = (grouped(dims, name, t, device, ("dstate", "seqlen")) for name, t in (("B", B), ("C", C)))
        check_divisible("dim", u.shape[1], "groups", B.shape[1])
    dims.check("D", D, ("dim",), device, optional=True)
    dims.check("z", z, ("batch", "dim", "seqlen"), device, optional=True)
    dims.check("delta_bias", delta_bias, ("dim",), device, optional=True)
    dims.check("initial_state", initial_state, ("batch", "dim", "dstate"), device, optional=True)
    return B, C, check_mask(dims, mask, device)


def _invariant(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dim() == 2
