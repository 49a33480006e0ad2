"""Chunked SSD in vectorised PyTorch (the block decomposition of the Mamba-2 paper).

Time is cut into chunks of `chunk_size`. Inside a chunk the output is the quadratic,
attention-like form (C B^T, masked by the decay between positions) applied to dt * x; across
chunks only one (headdim, dstate) state per head is carried. So the largest tensors are
(batch, nchunks, heads, chunk, chunk) and (batch, nchunks, heads, headdim, dstate): the
per-token state is never materialised. Autograd differentiates it.

Decays between positions are sums of dt * A over the segment, computed directly (masked
cumulative sums), never as differences of a running cumsum: at long lengths with large dt
the running sum is huge and its differences lose every digit.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checks import compute_dtype
from ..selective_scan.common import finish, prepare_delta
from .step import d_shape


def scan(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states, reverse, mask):
    """Validated inputs, B and C as (batch, seqlen, ngroups, dstate). Returns (y, final_states)."""
    dtype = compute_dtype(x, dt, A, B, C, initial_states)
    batch, seqlen, nheads, headdim = x.shape
    groups, dstate = B.shape[2], B.shape[3]
    per_group = nheads // groups
    xf = x.to(dtype)
    dt = prepare_delta(dt, dt_bias, dt_softplus, dtype, bias_shape=(-1,), keep=None if mask is None else mask[..., None])
    xs, B, C = xf, B.to(dtype), C.to(dtype)
    if reverse:  # the recurrence over flipped time; only the scan's own inputs and output are flipped
        xs, dt, B, C = (t.flip(1) for t in (xs, dt, B, C))
    q = min(chunk_size, seqlen)
    pad = -seqlen % q  # dt = 0 leaves the state untouched: padding is exact
    nc = (seqlen + pad) // q
    # (batch, chunk, position, group, head-in-group, ...)
    xdt = F.pad(xs * dt[..., None], (0, 0, 0, 0, 0, pad)).view(batch, nc, q, groups, per_group, headdim)
    # exp(min(dt A, 0)) per step, as the oracle clamps it
    a = torch.clamp(F.pad(dt, (0, 0, 0, pad)) * A.to(dtype), max=0).view(batch, nc, q, groups, per_group)
    a = a.permute(0, 1, 3, 4, 2)  # (b, c, g, h, l)
    Bc, Cc = (F.pad(t, (0, 0, 0, 0, 0, pad)).view(batch, nc, q, groups, dstate) for t in (B, C))

    # within chunks
    decay = torch.exp(_segment_sums(a))                           # (b, c, g, h, l, s)
    scores = torch.einsum("bclgn,bcsgn->bcgls", Cc, Bc)[:, :, :, None] * decay
    y = torch.einsum("bcghls,bcsghp->bclghp", scores, xdt)
    to_end = torch.exp(_sums_after(a))                            # decay from each position to chunk end
    chunk_states = torch.einsum("bclgn,bcghl,bclghp->bcghpn", Bc, to_end, xdt)

    # across chunks: one state per head carried chunk to chunk
    through = torch.exp(a.sum(-1))                                # (b, c, g, h)
    state = (xf.new_zeros(batch, groups, per_group, headdim, dstate) if initial_states is None
             else initial_states.to(dtype).reshape(batch, groups, per_group, headdim, dstate))
    entering = []
    for c in range(nc):
        entering.append(state)
        state = through[:, c, ..., None, None] * state + chunk_states[:, c]
    entering = torch.stack(entering, dim=1)                       # (b, c, g, h, p, n)
    from_start = torch.exp(torch.cumsum(a, dim=-1))               # decay from chunk start to each position
    y = y + torch.einsum("bclgn,bcghpn,bcghl->bclghp", Cc, entering, from_start)

    y = y.reshape(batch, nc * q, nheads, headdim)[:, :seqlen]
    if reverse:
        y = y.flip(1)
    return finish(y, xf, D, z, x.dtype, d_shape=d_shape(D)), state.reshape(batch, nheads, headdim, dstate)


def _segment_sums(a):
    """S[..., t, s] = a[s+1] + ... + a[t] for s <= t, -inf above the diagonal."""
    q = a.shape[-1]
    lower = torch.ones(q, q, dtype=torch.bool, device=a.device).tril()
    terms = a[..., :, None].expand(*a.shape, q).masked_fill(~lower.tril(-1), 0)  # terms[t, s] = a[t] if t > s
    return torch.cumsum(terms, dim=-2).masked_fill(~lower, float("-inf"))


def _sums_after(a):
    """a[s+1] + ... + a[last], summed from the end so no large running total is subtracted."""
    inclusive = torch.cumsum(a.flip(-1), dim=-1).flip(-1)
    return F.pad(inclusive[..., 1:], (0, 1))
