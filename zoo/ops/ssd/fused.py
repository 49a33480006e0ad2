"""SSD on the compiled CPU kernels (zoo/ops/fused): the CPU's `auto` choice where they build.

The kernel walks each (batch, head) sequence with its (dstate, headdim) state in cache and keeps the state
every K tokens; the backward recomputes K states at a time from those checkpoints. It is the plain
recurrence, so `chunk_size` (a block length of the chunked algorithms) does not apply. The skip term D x is
added inside the kernels (and its gradients taken there), which saves PyTorch's passes over x, y and dy;
dt preparation, reverse and the z gate stay in PyTorch, shared with the other backends.
"""
from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

from .. import alloc, fused, probe
from ..checks import compute_dtype
from ..selective_scan.common import finish, prepare_delta
from .step import d_shape

K = 32  # tokens between checkpoints: fewer make the forward write more, more make the backward's K + 1 states outgrow L2


def scan(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states, reverse, mask):
    """Validated inputs, B and C as (batch, seqlen, ngroups, dstate). Returns (y, final_states)."""
    dtype = compute_dtype(x, dt, A, B, C, initial_states)
    xf = x.to(dtype)
    dt = prepare_delta(dt, dt_bias, dt_softplus, dtype, bias_shape=(-1,), keep=None if mask is None else mask[..., None])
    xs, B, C = xf, B.to(dtype), C.to(dtype)
    if reverse:
        xs, dt, B, C = (t.flip(1) for t in (xs, dt, B, C))
    # the kernel keeps each head's state as (dstate, headdim): its loops then run over contiguous channels
    h0 = None if initial_states is None else initial_states.to(dtype).transpose(-1, -2)
    # D as (heads, headdim); expand's backward sums a per-head D's gradient over the head's channels
    Dp = None if D is None else D.to(dtype).view(d_shape(D)).expand(x.shape[2], x.shape[3])
    y, last = _FusedSSD.apply(xs, dt, A.to(dtype), B, C, h0, Dp)
    if reverse:
        y = y.flip(1)
    return finish(y, xf, None, z, x.dtype), last.transpose(-1, -2)


class _FusedSSD(torch.autograd.Function):
    """x: (b, L, H, P); dt: (b, L, H); A: (H,); B, C: (b, L, G, N); h0: (b, H, N, P) or None; D: (H, P) or None."""

    @staticmethod
    def forward(ctx, x, dt, A, B, C, h0, D):
        x, dt, A, B, C = (t.contiguous() for t in (x, dt, A, B, C))
        h0, D = (None if t is None else t.contiguous() for t in (h0, D))
        (batch, L, heads, P), (groups, N) = x.shape, B.shape[2:]
        y, last = alloc.empty(x.shape, like=x), alloc.empty(batch, heads, N, P, like=x)
        ckpt = alloc.empty(batch, heads, math.ceil(L / K), N, P, like=x)
        fused.run("ssd_fwd", [x, dt, A, B, C, D, h0, y, last, ckpt], [heads, groups, L, P, N, K], batch * heads)
        ctx.save_for_backward(x, dt, A, B, C, D, ckpt)
        ctx.has_h0 = h0 is not None
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dlast):
        x, dt, A, B, C, D, ckpt = ctx.saved_tensors
        (batch, L, heads, P), (groups, N) = x.shape, B.shape[2:]
        dx, dh0 = alloc.empty(x.shape, like=x), alloc.empty(batch, heads, N, P, like=x)
        ddt, dA = alloc.empty(dt.shape, like=x), alloc.empty(batch, heads, like=x)
        dB, dC = (alloc.empty(batch, L, heads, N, like=x) for _ in range(2))  # per head: summed per group below
        dD = None if D is None else alloc.empty(batch, heads, P, like=x)
        fused.run("ssd_bwd", [x, dt, A, B, C, D, ckpt, dy.contiguous(), dlast.contiguous(), dx, ddt, dA, dB, dC, dh0,
                              dD], [heads, groups, L, P, N, K], batch * heads)
        per_group = (batch, L, groups, heads // groups, N)
        return (dx, ddt, dA.sum(0), dB.view(per_group).sum(3), dC.view(per_group).sum(3),
                dh0 if ctx.has_h0 else None, None if D is None else dD.sum(0))


def probe_inputs(**call) -> dict:
    """A small problem through the same kernel as `call`: its dtypes and flags, groups, headdim and dstate;
    two heads per group, batch 1, and long enough to cross a checkpoint (or the call's own length)."""
    (_, seqlen, nheads, headdim), (groups, dstate) = call["x"].shape, call["B"].shape[2:]
    h, L = groups * min(2, nheads // groups), min(seqlen, 2 * K + 3)
    D = call["D"]
    shapes = dict(x=(1, L, h, headdim), z=(1, L, h, headdim), dt=(1, L, h), A=(h,), dt_bias=(h,),
                  B=(1, L, groups, dstate), C=(1, L, groups, dstate), D=(h,) if D is None or D.dim() == 1
                  else (h, headdim), initial_states=(1, h, headdim, dstate), mask=(1, L))
    return probe.small_like(call, shapes)


def kernel_key(**call) -> tuple:
    return probe.dtypes_and_flags(call)
