"""Selective scan on the compiled CPU kernels (zoo/ops/fused): the CPU's `auto` choice where they build.

The kernel walks each (batch, channel) sequence with its state in L1 and keeps the state every K tokens;
its backward recomputes K states at a time from those checkpoints. The parts outside the recurrence (dt
preparation, reverse, the D and z epilogue) stay in PyTorch, shared with the other backends, so autograd
differentiates them.
"""
from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

from .. import alloc, fused, probe
from ..checks import compute_dtype
from .common import finish, prepare_delta

K = 64  # tokens between checkpoints: the backward's buffer of K + 1 states stays in L1 for dstate <= 16


def scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse, mask):
    """Validated inputs, B and C grouped as (batch, groups, dstate, seqlen) or time-invariant (dim, dstate).
    Returns (out, last_state)."""
    dtype = compute_dtype(u, delta, A, B, C, initial_state)
    uf = u.to(dtype)
    dt = prepare_delta(delta, delta_bias, delta_softplus, dtype, keep=None if mask is None else mask[:, None])
    xs, dts, Bs, Cs = uf, dt, B.to(dtype), C.to(dtype)
    if reverse:
        xs, dts = xs.flip(-1), dts.flip(-1)
        if B.dim() == 4:
            Bs, Cs = Bs.flip(-1), Cs.flip(-1)
    if B.dim() == 4:
        # time-major, (batch, groups, seqlen, dstate): one token's dstate values are contiguous
        Bs, Cs = Bs.transpose(-1, -2), Cs.transpose(-1, -2)
    h0 = None if initial_state is None else initial_state.to(dtype)
    y, last = _FusedScan.apply(xs, dts, A.to(dtype), Bs, Cs, h0)
    if reverse:
        y = y.flip(-1)
    return finish(y, uf, D, z, u.dtype), last


def _layout(B, L: int) -> tuple[int, list[int]]:
    """(groups, [sb, sg, st]): the kernel's strides of contiguous B or C over batch, group and time."""
    if B.dim() == 2:  # time-invariant: one group per channel, shared by every batch row and token
        return B.shape[0], [0, B.shape[1], 0]
    groups, N = B.shape[1], B.shape[-1]
    return groups, [groups * L * N, L * N, N]


class _FusedScan(torch.autograd.Function):
    """u, dt: (b, D, L); A: (D, N); B, C: (b, G, L, N) or time-invariant (D, N); h0: (b, D, N) or None."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C, h0):
        u, dt, A, B, C = (t.contiguous() for t in (u, dt, A, B, C))
        h0 = None if h0 is None else h0.contiguous()
        (batch, dim, L), N = u.shape, A.shape[1]
        groups, strides = _layout(B, L)
        y, last = alloc.empty(batch, dim, L, like=u), alloc.empty(batch, dim, N, like=u)
        ckpt = alloc.empty(batch, dim, math.ceil(L / K), N, like=u)
        fused.run("ss_fwd", [u, dt, A, B, C, h0, y, last, ckpt], [dim, groups, L, N, K, *strides], batch * dim)
        ctx.save_for_backward(u, dt, A, B, C, ckpt)
        ctx.has_h0 = h0 is not None
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dlast):
        u, dt, A, B, C, ckpt = ctx.saved_tensors
        (batch, dim, L), N = u.shape, A.shape[1]
        groups, strides = _layout(B, L)
        # dB and dC sum over a group's channels: each task owns a block of them and a private slice
        blocks = min(dim // groups, math.ceil(torch.get_num_threads() / (batch * groups)))
        du, ddt = (alloc.empty(batch, dim, L, like=u) for _ in range(2))
        dA, dh0 = (alloc.empty(batch, dim, N, like=u) for _ in range(2))
        dB, dC = (alloc.empty(batch, groups, blocks, L if B.dim() == 4 else 1, N, like=u) for _ in range(2))
        fused.run("ss_bwd", [u, dt, A, B, C, ckpt, dy.contiguous(), dlast.contiguous(), du, ddt, dA, dB, dC, dh0],
                  [dim, groups, L, N, K, *strides, blocks], batch * groups * blocks)
        dB, dC = dB.sum(2), dC.sum(2)
        if B.dim() == 2:
            dB, dC = dB.sum(0).squeeze(1), dC.sum(0).squeeze(1)
        return du, ddt, dA.sum(0), dB, dC, dh0 if ctx.has_h0 else None


def probe_inputs(**call) -> dict:
    """A small problem through the same kernel as `call`: its dtypes and flags, groups and dstate; two
    channels per group (three channels for time-invariant B and C), batch 1, and long enough to cross a
    checkpoint (or the call's own length)."""
    (_, dim, seqlen), dstate = call["u"].shape, call["A"].shape[1]
    L = min(seqlen, 2 * K + 3)
    if call["B"].dim() == 2:
        d = min(dim, 3)
        bc = (d, dstate)
    else:
        groups = call["B"].shape[1]
        d = groups * min(2, dim // groups)
        bc = (1, groups, dstate, L)
    shapes = dict(u=(1, d, L), delta=(1, d, L), z=(1, d, L), A=(d, dstate), B=bc, C=bc, D=(d,), delta_bias=(d,),
                  initial_state=(1, d, dstate), mask=(1, L))
    return probe.small_like(call, shapes)


def kernel_key(**call) -> tuple:
    return probe.dtypes_and_flags(call), call["B"].dim()
