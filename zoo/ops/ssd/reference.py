"""An oracle for SSD written from the paper's matrix ("attention") form, sharing no code with `naive`.

State space duality: the whole sequence's output is one masked matrix product per head,
    y = (Lmask * (C B^T)) (dt x) + exp(cum) (C h_0^T) + D x,   Lmask[t, s] = exp(cum[t] - cum[s]) for s <= t,
with cum the running sum of min(dt A, 0), and the final state is the same sum read at the last step.
No recurrence is run: it is a genuinely different algorithm from the sequential `naive`, for small
problems in float64 (O(seqlen^2) memory).
"""
from __future__ import annotations

import torch


def ssd_reference(x, dt, A, B, C, chunk_size=None, D=None, z=None, dt_bias=None, dt_softplus=False,
                  initial_states=None, reverse=False, mask=None):
    """The arguments of zoo.ops.ssd (chunk_size is ignored); returns (y, final_states), both float64."""
    f64 = lambda t: None if t is None else t.to(torch.float64)  # noqa: E731
    x, dt, A, B, C, D, z, dt_bias, h0 = map(f64, (x, dt, A, B, C, D, z, dt_bias, initial_states))
    batch, seqlen, nheads, headdim = x.shape
    if B.dim() == 3:
        B, C = B[:, :, None], C[:, :, None]
    group = torch.arange(nheads, device=x.device) // (nheads // B.shape[2])
    B, C = B[:, :, group], C[:, :, group]                         # (batch, seqlen, nheads, dstate)

    if dt_bias is not None:
        dt = dt + dt_bias
    if dt_softplus:
        dt = torch.where(dt > 20, dt, torch.log1p(torch.exp(torch.clamp(dt, max=20))))
    if mask is not None:
        dt = torch.where(mask[..., None].bool(), dt, torch.zeros_like(dt))
    time = 1
    x_s = x.flip(time) if reverse else x
    if reverse:
        dt, B, C = (t.flip(time) for t in (dt, B, C))
    cum = torch.cumsum(torch.clamp(dt * A, max=0), dim=time).transpose(1, 2)   # (batch, nheads, seqlen)
    later_or_same = torch.ones(seqlen, seqlen, dtype=torch.bool, device=x.device).tril()
    gap = cum[..., :, None] - cum[..., None, :]
    Lmask = torch.exp(torch.where(later_or_same, gap, torch.full_like(gap, -torch.inf)))  # (b, h, t, s)
    scores = torch.einsum("bthn,bshn->bhts", C, B) * Lmask
    y = torch.einsum("bhts,bsh,bshp->bthp", scores, dt, x_s)
    final = torch.einsum("bhs,bsh,bshp,bshn->bhpn", Lmask[:, :, -1], dt, x_s, B)
    if h0 is not None:
        from_start = torch.exp(cum).transpose(1, 2)                              # (batch, seqlen, nheads)
        y = y + from_start[..., None] * torch.einsum("bthn,bhpn->bthp", C, h0)
        final = final + torch.exp(cum[..., -1])[..., None, None] * h0
    if reverse:
        y = y.flip(time)
    if D is not None:
        y = y + (D[:, None] if D.dim() == 1 else D) * x
    if z is not None:
        y = y * z * torch.sigmoid(z)
    return y, final
