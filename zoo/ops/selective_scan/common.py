"""The parts of a selective scan outside the recurrence: dt preparation and the output epilogue.

Every backend except Triton (which fuses them) calls these, so the semantics of
delta_bias, delta_softplus, D and z are written once.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def prepare_delta(delta, delta_bias, softplus: bool, dtype: torch.dtype, bias_shape=(-1, 1), keep=None):
    """dt in float32 (or float64): dt + bias, then softplus, as mamba_ssm's reference does; then 0 where
    `keep` (a bool mask broadcasting against delta) is False. dt = 0 is the exact no-op step: decay 1 and
    no input, so a masked position leaves the state as it was (and gets no gradient through dt)."""
    delta = delta.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype).view(bias_shape)
    delta = F.softplus(delta) if softplus else delta
    return delta if keep is None else delta.masked_fill(~keep, 0)


def finish(y, u, D, z, out_dtype: torch.dtype, d_shape=(-1, 1)):
    """out = (y + D * u) * silu(z), cast back to the input dtype."""
    if D is not None:
        y = y + u.to(y.dtype) * D.to(y.dtype).view(d_shape)
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    return y.to(out_dtype)


def decay(delta_a):
    """exp(min(x, 0)): a decay never exceeds 1, even for a positive A or a huge dt."""
    return torch.exp(torch.clamp(delta_a, max=0))


def per_token(B, batch: int, seqlen: int):
    """B or C in the grouped layout (batch, groups, dstate, seqlen). Time-invariant (dim, dstate) becomes a
    view with one group per channel: the backends without a time-invariant path read it this way."""
    return B if B.dim() == 4 else B[None, :, :, None].expand(batch, -1, -1, seqlen)
