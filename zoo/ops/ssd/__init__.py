"""Mamba-2 state space duality (SSD): scalar A per head, B and C shared by groups of heads.

Layouts follow mamba_ssm's `mamba_chunk_scan_combined`.
"""
from __future__ import annotations

import torch

from .. import dispatch
from ..checks import Dims, check_divisible, check_mask, grouped
from .step import _check_D, ssd_step

__all__ = ["ssd", "ssd_step"]


def ssd(x, dt, A, B, C, chunk_size, D=None, z=None, dt_bias=None, dt_softplus=False,
        initial_states=None, return_final_states=False, reverse=False, mask=None, backend="auto"):
    """h_t = exp(dt_t A_h) h_{t-1} + dt_t x_t B_t^T per head,  y_t = h_t C_t + D x_t,  out = y * silu(z).

    x, z: (batch, seqlen, nheads, headdim); dt: (batch, seqlen, nheads); A, dt_bias: (nheads,);
    B, C: (batch, seqlen, ngroups, dstate), head h using group h // (nheads // ngroups);
    D: (nheads,) or (nheads, headdim); initial_states: (batch, nheads, headdim, dstate).
    chunk_size sets the block length of the chunked algorithms (the result does not depend on it).
    reverse=True runs the recurrence from the last token to the first. mask: (batch, seqlen), False
    (or 0) at padding, where dt is 0 and the state passes through unchanged (see selective_scan).
    Returns y (dtype of x), or (y, final_states) in float32 (float64 for float64 inputs).
    """
    B, C, mask = _validate(x, dt, A, B, C, chunk_size, D, z, dt_bias, initial_states, mask)
    inputs = dict(x=x, dt=dt, A=A, B=B, C=C, chunk_size=int(chunk_size), D=D, z=z, dt_bias=dt_bias,
                  dt_softplus=bool(dt_softplus), initial_states=initial_states, reverse=bool(reverse), mask=mask)
    name = dispatch.resolve("ssd", backend, x.device, inputs)
    y, final = dispatch.backend_module("ssd", name).scan(**inputs)
    dispatch.note_used("ssd", name, x.device)
    return (y, final) if return_final_states else y


def _validate(x, dt, A, B, C, chunk_size, D, z, dt_bias, initial_states, mask):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    dims = Dims()
    device = x.device if isinstance(x, torch.Tensor) else None
    dims.check("x", x, ("batch", "seqlen", "nheads", "headdim"), device)
    if x.shape[1] < 1:
        raise ValueError(f"x has shape {tuple(x.shape)}: seqlen must be at least 1")
    dims.check("dt", dt, ("batch", "seqlen", "nheads"), device)
    dims.check("A", A, ("nheads",), device)
    B, C = (grouped(dims, name, t, device, ("seqlen", "dstate"), group_axis=2) for name, t in (("B", B), ("C", C)))
    check_divisible("nheads", x.shape[2], "ngroups", B.shape[2])
    _check_D(dims, D, device)
    dims.check("z", z, ("batch", "seqlen", "nheads", "headdim"), device, optional=True)
    dims.check("dt_bias", dt_bias, ("nheads",), device, optional=True)
    dims.check("initial_states", initial_states, ("batch", "nheads", "headdim", "dstate"), device, optional=True)
    return B, C, check_mask(dims, mask, device)
