"""An oracle for the selective scan written from the equations alone, sharing no code with `naive`.

Every state of the sequence is materialised at once, (batch, dim, dstate, seqlen), from the closed
form of the recurrence,
    h_t = sum_{s <= t} exp(sum_{s < k <= t} min(dt_k A, 0)) dt_s u_s B_s + exp(sum_{k <= t} min(dt_k A, 0)) h_0,
as one (seqlen, seqlen) decay matrix per (batch, channel, state) and one einsum. It is an
independent check of `naive` (a loop over a one-token update that decoding shares), meant for small
problems in float64: it costs O(seqlen^2) memory.
"""
from __future__ import annotations

import torch


def selective_scan_reference(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                             initial_state=None, reverse=False, mask=None):
    """The arguments of zoo.ops.selective_scan; returns (out, last_state), both float64."""
    f64 = lambda t: None if t is None else t.to(torch.float64)  # noqa: E731
    u, delta, A, B, C, D, z, delta_bias, h0 = map(f64, (u, delta, A, B, C, D, z, delta_bias, initial_state))
    batch, dim, seqlen = u.shape
    if B.dim() == 3:
        B, C = B[:, None], C[:, None]
    group = torch.arange(dim, device=u.device) // (dim // B.shape[1])
    B, C = B[:, group], C[:, group]                               # (batch, dim, dstate, seqlen)

    dt = delta if delta_bias is None else delta + delta_bias[:, None]
    if delta_softplus:
        dt = torch.where(dt > 20, dt, torch.log1p(torch.exp(torch.clamp(dt, max=20))))
    if mask is not None:
        dt = torch.where(mask[:, None].bool(), dt, torch.zeros_like(dt))
    time = -1
    if reverse:  # the same recurrence over flipped time
        u_s, dt, B, C = (t.flip(time) for t in (u, dt, B, C))
    else:
        u_s = u
    log_a = torch.clamp(dt[:, :, None, :] * A[None, :, :, None], max=0)     # (batch, dim, dstate, seqlen)
    cum = torch.cumsum(log_a, dim=time)
    later_or_same = torch.ones(seqlen, seqlen, dtype=torch.bool, device=u.device).tril()  # [t, s]: s <= t
    gap = cum[..., :, None] - cum[..., None, :]
    decay = torch.exp(torch.where(later_or_same, gap, torch.full_like(gap, -torch.inf)))
    inputs = (dt * u_s)[:, :, None, :] * B
    states = torch.einsum("bdnts,bdns->bdnt", decay, inputs)
    if h0 is not None:
        states = states + torch.exp(cum) * h0[..., None]
    y = (states * C).sum(2)
    if reverse:
        y = y.flip(time)
    if D is not None:
        y = y + D[:, None] * u
    if z is not None:
        y = y * z * torch.sigmoid(z)
    return y, states[..., -1]
