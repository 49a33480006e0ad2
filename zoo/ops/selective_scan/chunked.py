"""Chunked selective scan in vectorised PyTorch: the CPU workhorse.

Why this shape:
- Time is cut into chunks of CHUNK tokens handled one after another, so the working set is
  a few (batch, CHUNK, dim, dstate) tensors and never the full (batch, seqlen, dim, dstate)
  state. The forward saves only the state at each chunk boundary; the backward walks the
  chunks in reverse and recomputes each chunk's states from its boundary state (the
  recomputation trick of the Mamba kernel, here in PyTorch).
- Inside a chunk the scan is two-level: the chunk is cut into `k` sub-blocks of SUB tokens,
  all sub-blocks are scanned at once from a zero state with SUB in-place column updates,
  the true state entering each sub-block is carried across the `k` sub-blocks, and one
  broadcast product with the cumulative decay corrects every position. That costs SUB + k
  Python-level steps per chunk instead of CHUNK, and every factor is a decay <= 1, so it is
  stable at any length and any dt (no exp(-cumsum) tricks that overflow).
- The adjoint of h_t = a_t h_{t-1} + x_t is g_t = a_{t+1} g_{t+1} + C_t dy_t, the same
  two-level scan run backwards, so the backward needs no autograd graph over time.

Tensors inside a chunk use the layout (SUB, batch, k, groups, dim_per_group, dstate): the
first axis is the position inside a sub-block, so each column update touches contiguous memory.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .. import alloc
from ..checks import compute_dtype
from .common import decay, finish, per_token, prepare_delta

SUB = 16     # tokens per sub-block
CHUNK = 256  # tokens per chunk (a multiple of SUB)


def scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse, mask):
    """Validated inputs, B and C grouped as (batch, groups, dstate, seqlen) or time-invariant (dim, dstate).
    Returns (out, last_state)."""
    dtype = compute_dtype(u, delta, A, B, C, initial_state)
    batch, dim, seqlen = u.shape
    B, C = per_token(B, batch, seqlen), per_token(C, batch, seqlen)
    groups, dstate = B.shape[1], B.shape[2]
    uf = u.to(dtype)
    dt = prepare_delta(delta, delta_bias, delta_softplus, dtype, keep=None if mask is None else mask[:, None])
    xs, dts, Bs, Cs = uf, dt, B.to(dtype), C.to(dtype)
    if reverse:
        xs, dts, Bs, Cs = (t.flip(-1) for t in (xs, dts, Bs, Cs))
    pad = -seqlen % SUB  # dt = 0 and u = 0 leave the state untouched: padding is exact
    split = (batch, groups, dim // groups, seqlen + pad)
    xs, dts = (F.pad(t, (0, pad)).view(split) for t in (xs, dts))
    Bs, Cs = (F.pad(t, (0, pad)) for t in (Bs, Cs))
    h0 = None if initial_state is None else initial_state.to(dtype).view(split[:3] + (dstate,))
    y, last = _ChunkedScan.apply(xs, dts, A.to(dtype).view(groups, dim // groups, dstate), Bs, Cs, h0)
    y = y.reshape(batch, dim, seqlen + pad)[..., :seqlen]
    if reverse:
        y = y.flip(-1)
    return finish(y, uf, D, z, u.dtype), last.reshape(batch, dim, dstate)


class _ChunkedScan(torch.autograd.Function):
    """u, dt: (b, G, Dg, L); A: (G, Dg, N); B, C: (b, G, N, L); h0: (b, G, Dg, N) or None; L % SUB == 0."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C, h0):
        b, G, Dg, L = u.shape
        h = u.new_zeros(b, G, Dg, A.shape[-1]) if h0 is None else h0
        y = alloc.empty(b, G, Dg, L, like=u)
        starts = []
        for s, e in _chunks(L):
            starts.append(h)
            dl, ul, Bl, Cl = _to_cols(dt, u, B, C, s, e)
            _, a, hs, _, h = _states(dl, ul, Bl, A, h)
            y[..., s:e] = _from_cols((hs * Cl).sum(-1))
        ctx.save_for_backward(u, dt, A, B, C, torch.stack(starts))
        ctx.has_h0 = h0 is not None
        return y, h

    @staticmethod
    @once_differentiable  # the hand-written backward is not itself differentiable: say so, not a wrong answer
    def backward(ctx, dy, dlast):
        u, dt, A, B, C, starts = ctx.saved_tensors
        du, ddt, dB, dC = (alloc.empty(t.shape, like=t) for t in (u, dt, B, C))
        dA = torch.zeros_like(A)
        carry = torch.zeros_like(starts[0]) if dlast is None else dlast.contiguous()
        for i, (s, e) in reversed(list(enumerate(_chunks(u.shape[-1])))):
            dl, ul, Bl, Cl = _to_cols(dt, u, B, C, s, e)
            dyl = _cols(dy, s, e)
            expo, a, hs, entering, _ = _states(dl, ul, Bl, A, starts[i])
            g, carry = _adjoints(a, dyl[..., None] * Cl, carry)
            h_prev = torch.cat([entering[None], hs[:-1]])
            dexpo = g * h_prev * a
            dexpo.masked_fill_(expo > 0, 0)  # exp(min(x, 0)) passes no gradient where it clamped
            dA += (dexpo * dl[..., None]).sum((0, 1, 2))
            gB = (g * Bl).sum(-1)
            ddt[..., s:e] = _from_cols((dexpo * A).sum(-1) + ul * gB)
            du[..., s:e] = _from_cols(dl * gB)
            dB[..., s:e] = _from_cols((g * (dl * ul)[..., None]).sum(-2))
            dC[..., s:e] = _from_cols((hs * dyl[..., None]).sum(-2))
        return du, ddt, dA, dB, dC, carry if ctx.has_h0 else None


def _chunks(L):
    return [(s, min(s + CHUNK, L)) for s in range(0, L, CHUNK)]


def _cols(t, s, e):
    """(b, G, X, L)[..., s:e] -> (SUB, b, k, G, X) with position = k * SUB + column."""
    b, G, X, _ = t.shape
    return t[..., s:e].reshape(b, G, X, (e - s) // SUB, SUB).permute(4, 0, 3, 1, 2).contiguous()


def _from_cols(t):
    """Inverse of _cols: (SUB, b, k, G, X) -> (b, G, X, k * SUB)."""
    sub, b, k, G, X = t.shape
    return t.permute(1, 3, 4, 2, 0).reshape(b, G, X, k * sub)


def _to_cols(dt, u, B, C, s, e):
    dl, ul = _cols(dt, s, e), _cols(u, s, e)
    Bl, Cl = (_cols(t, s, e).unsqueeze(-2) for t in (B, C))  # (SUB, b, k, G, 1, N)
    return dl, ul, Bl, Cl


def _states(dl, ul, Bl, A, h_in):
    """Every state of one chunk. Returns (exponent, decay, states, state entering each sub-block, last state)."""
    expo = dl[..., None] * A
    a = decay(expo)
    hs = (dl * ul)[..., None] * Bl  # the inputs x_t, turned into zero-start states in place
    for j in range(1, hs.shape[0]):
        hs[j].addcmul_(a[j], hs[j - 1])
    cum = alloc.empty(a.shape, like=a)  # running product of decays; torch.cumprod over a
    cum[0] = a[0]                               # leading axis is several times slower on the CPU
    for j in range(1, a.shape[0]):
        torch.mul(cum[j - 1], a[j], out=cum[j])
    entering = alloc.empty(hs.shape[1:], like=hs)
    h = h_in
    for k in range(hs.shape[2]):
        entering[:, k] = h
        h = cum[-1, :, k] * h + hs[-1, :, k]
    hs.addcmul_(cum, entering)
    return expo, a, hs, entering, h


def _adjoints(a, g, carry):
    """g_t = a_{t+1} g_{t+1} + g_t over one chunk, with `carry` = dL/d(last state) from later chunks.
    Works in place on g; returns (g, dL/d(state entering the chunk))."""
    after = torch.ones_like(a)  # product of the decays after each position within its sub-block
    for j in range(g.shape[0] - 2, -1, -1):
        g[j].addcmul_(a[j + 1], g[j + 1])
        torch.mul(after[j + 1], a[j + 1], out=after[j])
    leaving = alloc.empty(g.shape[1:], like=g)
    for k in range(g.shape[2] - 1, -1, -1):
        leaving[:, k] = carry
        carry = a[0, :, k] * (g[0, :, k] + after[0, :, k] * carry)
    g.addcmul_(after, leaving)
    return g, carry
