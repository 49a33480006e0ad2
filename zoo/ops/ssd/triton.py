"""SSD in fused Triton kernels: one forward and one backward kernel, optional inputs as constexpr flags.

Design. One program owns one (batch, head, block of headdim) and walks the chunks in order,
keeping its (headdim-block, dstate) slice of the state in registers, so the state never
round-trips through memory between chunks. Inside a chunk the output is the quadratic form
of the Mamba-2 paper,
    y = (C B^T * L) (dt x) + from_start * (C h_prev^T),   L[l, s] = exp(a[s+1] + ... + a[l]) for s <= l,
two `tl.dot`s on (chunk, chunk) and (chunk, dstate) tiles, and the state moves on as
    h = exp(a[0] + ... + a[last]) h_prev + (dt x * to_end)^T B,
where a = min(dt A, 0) is the per-step log-decay, from_start[l] = exp(a[0] + ... + a[l]) and
to_end[s] = exp(a[s+1] + ... + a[last]). Every exponent is a sum of the steps it spans (a masked
cumulative sum over a (chunk, chunk) tile), never a difference of running sums: after one large
step, cum[l] - cum[s] would have lost the digits of the small steps that follow (at dt A = -1e4,
float32 keeps no step smaller than about 1e-3). Every exponent is <= 0, so nothing overflows at
any length or dt. `reverse` only changes which position a logical step reads and writes, and a
padding mask sets dt = 0. When a gradient is needed, the forward also writes the state
entering each chunk (batch, nchunks, nheads, headdim, dstate, float32); the backward walks the
chunks in reverse from those, recomputing the chunk's forward tiles and carrying d(state) in
registers.

Why this shape: it is the simplest layout in which both passes are single kernels with no
inter-program communication. Sums that cross programs (dB and dC over the heads of a group
and the headdim blocks, dt over headdim blocks, dA, dD and dt_bias over batch and time) go
to per-program partial buffers that torch sums afterwards, so results are deterministic.
D, z, dt_bias, softplus and initial_states are `tl.constexpr` flags of the same two kernels.

Chunk length: `chunk_size`, capped at MAX_CHUNK = 64. The result does not depend on it, and
larger float32 (chunk, chunk) tiles do not fit in registers (at 256, ptxas cannot build the
backward at all). Tiles are padded to at least 16 (tl.dot's minimum) and masked, so any
seqlen, chunk_size, headdim and dstate work.

Numerics: everything is computed in float32 whatever the input dtype (float64 inputs too:
their results have float32 accuracy, in a float64 final state); softplus and the clamp's gradient
rule are zoo.ops.triton_common's, shared with the selective scan. `tl.dot` is asked for 3xTF32 on
NVIDIA GPUs from Ampere on (exact float32 FMAs in the interpreter), meant to keep float32 accuracy
rather than TF32's 10-bit mantissa; that has not yet been run on a GPU (no GPU has been lent).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from .. import alloc, probe
from ..checks import compute_dtype
from ..triton_common import (decay_grad_at_kink, decay_passes_grad, dot_precision, log_decay, mask_bytes,
                             on_device, softplus, softplus_grad)


# ----------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------

@triton.jit
def _dot(a, b, PRECISION: tl.constexpr):
    return tl.dot(a, b, input_precision=PRECISION)


@triton.jit
def _load_chunk(x_ptr, dt_ptr, B_ptr, C_ptr, mask_ptr, start, seqlen, chunk_size, headdim, dstate, A, bias,
                sx_l, sx_p, sdt_l, sB_l, sB_n, sC_l, sC_n, offs_t, offs_p, offs_n,
                HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, REVERSE: tl.constexpr, HAS_MASK: tl.constexpr):
    """One chunk's inputs as float32 tiles, zero outside the chunk; dt prepared (0 where masked), `a` the
    per-step log-decay. Logical step s reads and writes position t (s itself, or seqlen-1-s in reverse);
    `live` marks the steps whose dt is real."""
    s = start.to(tl.int64) + offs_t
    valid = (offs_t < chunk_size) & (s < seqlen)
    if REVERSE:
        t = seqlen - 1 - s
    else:
        t = s
    dt_raw = tl.load(dt_ptr + t * sdt_l, mask=valid, other=0.0).to(tl.float32)
    if HAS_BIAS:
        dt_raw = dt_raw + bias
    if SOFTPLUS:
        dtv = softplus(dt_raw)
    else:
        dtv = dt_raw
    live = valid
    if HAS_MASK:
        live = live & (tl.load(mask_ptr + t, mask=valid, other=0) != 0)
    dtv = tl.where(live, dtv, 0.0)            # padding has dt = 0: it neither decays nor feeds the state
    a = log_decay(dtv * A)
    mask_p = valid[:, None] & (offs_p[None, :] < headdim)
    mask_n = valid[:, None] & (offs_n[None, :] < dstate)
    x = tl.load(x_ptr + t[:, None] * sx_l + offs_p[None, :] * sx_p, mask=mask_p, other=0.0).to(tl.float32)
    Bm = tl.load(B_ptr + t[:, None] * sB_l + offs_n[None, :] * sB_n, mask=mask_n, other=0.0).to(tl.float32)
    Cm = tl.load(C_ptr + t[:, None] * sC_l + offs_n[None, :] * sC_n, mask=mask_n, other=0.0).to(tl.float32)
    return t, valid, live, dt_raw, dtv, a, x, Bm, Cm


@triton.jit
def _decays(a, offs_t, BLOCK_T: tl.constexpr):
    """From the log-decays a (<= 0; 0 on padding): L[l, s] = exp(a[s+1] + ... + a[l]) for s <= l (0 above the
    diagonal), from_start[l] = exp(a[0] + ... + a[l]), to_end[s] = exp(a[s+1] + ... + a[last]) and
    total = a[0] + ... + a[last]. Each exponent sums its own steps (see the module docstring)."""
    later = offs_t[:, None] > offs_t[None, :]
    seg = tl.cumsum(tl.where(later, a[:, None], 0.0), axis=0)      # seg[l, s] = a[s+1] + ... + a[l]
    L = tl.where(offs_t[:, None] >= offs_t[None, :], tl.exp(seg), 0.0)
    to_end = tl.exp(tl.sum(tl.where(offs_t[:, None] == BLOCK_T - 1, seg, 0.0), axis=0))  # seg[last, s]
    return L, tl.exp(tl.cumsum(a, axis=0)), to_end, tl.sum(a, axis=0)


@triton.jit
def _ssd_fwd_kernel(
    x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr, init_ptr, mask_ptr,
    out_ptr, final_ptr, states_ptr,
    seqlen, nheads, headdim, dstate, heads_per_group, chunk_size, nchunks,
    sx_b, sx_l, sx_h, sx_p, sdt_b, sdt_l, sdt_h, sB_b, sB_l, sB_g, sB_n, sC_b, sC_l, sC_g, sC_n,
    sz_b, sz_l, sz_h, sz_p, sA, sD_h, sD_p, sbias, si_b, si_h, si_p, si_n,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    HAS_INIT: tl.constexpr, REVERSE: tl.constexpr, HAS_MASK: tl.constexpr, STORE_STATES: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, PRECISION: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    b = (pid_bh // nheads).to(tl.int64)  # 64-bit offsets from here on: large batches pass 2**31 elements
    h = pid_bh % nheads
    g = h // heads_per_group
    offs_t = tl.arange(0, BLOCK_T)
    offs_p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mask_pn = (offs_p[:, None] < headdim) & (offs_n[None, :] < dstate)
    x_ptr += b * sx_b + h * sx_h
    dt_ptr += b * sdt_b + h * sdt_h
    B_ptr += b * sB_b + g * sB_g
    C_ptr += b * sC_b + g * sC_g
    z_ptr += b * sz_b + h * sz_h
    mask_ptr += b * seqlen                                  # the mask is contiguous (batch, seqlen)
    out_ptr += (b * seqlen * nheads + h) * headdim          # out is contiguous (batch, seqlen, nheads, headdim)
    pn = offs_p[:, None] * dstate + offs_n[None, :]        # offsets in a contiguous (headdim, dstate) state

    A = tl.load(A_ptr + h * sA).to(tl.float32)
    bias = tl.load(bias_ptr + h * sbias).to(tl.float32) if HAS_BIAS else 0.0
    if HAS_D:
        Dv = tl.load(D_ptr + h * sD_h + offs_p * sD_p, mask=offs_p < headdim, other=0.0).to(tl.float32)
    if HAS_INIT:
        state = tl.load(init_ptr + b * si_b + h * si_h + offs_p[:, None] * si_p + offs_n[None, :] * si_n,
                        mask=mask_pn, other=0.0).to(tl.float32)
    else:
        state = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)

    for c in range(nchunks):
        if STORE_STATES:  # for the backward
            tl.store(states_ptr + ((b * nchunks + c) * nheads + h) * headdim * dstate + pn, state, mask=mask_pn)
        t, valid, live, dt_raw, dtv, a, x, Bm, Cm = _load_chunk(
            x_ptr, dt_ptr, B_ptr, C_ptr, mask_ptr, c * chunk_size, seqlen, chunk_size, headdim, dstate, A, bias,
            sx_l, sx_p, sdt_l, sB_l, sB_n, sC_l, sC_n, offs_t, offs_p, offs_n, HAS_BIAS, SOFTPLUS, REVERSE,
            HAS_MASK)
        L, from_start, to_end, total = _decays(a, offs_t, BLOCK_T)
        u = x * dtv[:, None]
        W = _dot(Cm, tl.trans(Bm), PRECISION) * L                                        # (t, t)
        y = _dot(W, u, PRECISION) + from_start[:, None] * _dot(Cm, tl.trans(state), PRECISION)  # (t, p)
        if HAS_D:
            y += x * Dv[None, :]
        mask_tp = valid[:, None] & (offs_p[None, :] < headdim)
        if HAS_Z:
            zv = tl.load(z_ptr + t[:, None] * sz_l + offs_p[None, :] * sz_p, mask=mask_tp, other=0.0).to(tl.float32)
            y = y * zv * tl.sigmoid(zv)
        tl.store(out_ptr + t[:, None] * nheads * headdim + offs_p[None, :], y, mask=mask_tp)
        state = tl.exp(total) * state + _dot(tl.trans(u * to_end[:, None]), Bm, PRECISION)

    tl.store(final_ptr + (b * nheads + h) * headdim * dstate + pn, state, mask=mask_pn)


@triton.jit
def _ssd_bwd_kernel(
    x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr, mask_ptr, dout_ptr, dfinal_ptr, states_ptr,
    dx_ptr, dz_ptr, dB_ptr, dC_ptr, ddt_ptr, dA_ptr, dD_ptr, dinit_ptr,
    batch, seqlen, nheads, headdim, dstate, heads_per_group, chunk_size, nchunks,
    sx_b, sx_l, sx_h, sx_p, sdt_b, sdt_l, sdt_h, sB_b, sB_l, sB_g, sB_n, sC_b, sC_l, sC_g, sC_n,
    sz_b, sz_l, sz_h, sz_p, sA, sD_h, sD_p, sbias, so_b, so_l, so_h, so_p, sf_b, sf_h, sf_p, sf_n,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    HAS_INIT: tl.constexpr, HAS_DFINAL: tl.constexpr, REVERSE: tl.constexpr, HAS_MASK: tl.constexpr,
    GRAD_AT_KINK: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, PRECISION: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_p = tl.program_id(1)
    b = (pid_bh // nheads).to(tl.int64)
    h = pid_bh % nheads
    g = h // heads_per_group
    offs_t = tl.arange(0, BLOCK_T)
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mask_pn = (offs_p[:, None] < headdim) & (offs_n[None, :] < dstate)
    x_ptr += b * sx_b + h * sx_h
    dt_ptr += b * sdt_b + h * sdt_h
    B_ptr += b * sB_b + g * sB_g
    C_ptr += b * sC_b + g * sC_g
    z_ptr += b * sz_b + h * sz_h
    mask_ptr += b * seqlen
    dout_ptr += b * so_b + h * so_h
    # contiguous outputs: dx, dz (batch, seqlen, nheads, headdim); per-headdim-block partials
    # dB, dC (nblocks, batch, seqlen, nheads, dstate) and ddt, dA (nblocks, batch, seqlen, nheads)
    dx_ptr += (b * seqlen * nheads + h) * headdim
    dz_ptr += (b * seqlen * nheads + h) * headdim
    part = (pid_p * batch + b) * seqlen * nheads + h
    dB_ptr += part * dstate
    dC_ptr += part * dstate
    ddt_ptr += part
    dA_ptr += part
    pn = offs_p[:, None] * dstate + offs_n[None, :]

    A = tl.load(A_ptr + h * sA).to(tl.float32)
    bias = tl.load(bias_ptr + h * sbias).to(tl.float32) if HAS_BIAS else 0.0
    if HAS_D:
        Dv = tl.load(D_ptr + h * sD_h + offs_p * sD_p, mask=offs_p < headdim, other=0.0).to(tl.float32)
        dD_acc = tl.zeros((BLOCK_P,), dtype=tl.float32)
    if HAS_DFINAL:  # d loss / d (state leaving the current chunk), carried backwards
        dstate_ = tl.load(dfinal_ptr + b * sf_b + h * sf_h + offs_p[:, None] * sf_p + offs_n[None, :] * sf_n,
                          mask=mask_pn, other=0.0).to(tl.float32)
    else:
        dstate_ = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)

    for i in range(nchunks):
        c = nchunks - 1 - i
        state = tl.load(states_ptr + ((b * nchunks + c) * nheads + h) * headdim * dstate + pn,
                        mask=mask_pn, other=0.0)
        t, valid, live, dt_raw, dtv, a, x, Bm, Cm = _load_chunk(
            x_ptr, dt_ptr, B_ptr, C_ptr, mask_ptr, c * chunk_size, seqlen, chunk_size, headdim, dstate, A, bias,
            sx_l, sx_p, sdt_l, sB_l, sB_n, sC_l, sC_n, offs_t, offs_p, offs_n, HAS_BIAS, SOFTPLUS, REVERSE,
            HAS_MASK)
        L, from_start, to_end, total = _decays(a, offs_t, BLOCK_T)
        u = x * dtv[:, None]
        W = _dot(Cm, tl.trans(Bm), PRECISION) * L
        mask_tp = valid[:, None] & (offs_p[None, :] < headdim)
        tp = t[:, None] * nheads * headdim + offs_p[None, :]
        dy = tl.load(dout_ptr + t[:, None] * so_l + offs_p[None, :] * so_p, mask=mask_tp, other=0.0).to(tl.float32)
        if HAS_Z:  # out = y * silu(z): recompute y
            y = _dot(W, u, PRECISION) + from_start[:, None] * _dot(Cm, tl.trans(state), PRECISION)
            if HAS_D:
                y += x * Dv[None, :]
            zv = tl.load(z_ptr + t[:, None] * sz_l + offs_p[None, :] * sz_p, mask=mask_tp, other=0.0).to(tl.float32)
            sig = tl.sigmoid(zv)
            tl.store(dz_ptr + tp, dy * y * sig * (1.0 + zv * (1.0 - sig)), mask=mask_tp)
            dy = dy * zv * sig
        # dy is now d loss / d y with y = W u + from_start * C state^T + D x
        du = _dot(tl.trans(W), dy, PRECISION) + to_end[:, None] * _dot(Bm, tl.trans(dstate_), PRECISION)  # (t, p)
        dx = du * dtv[:, None]
        if HAS_D:
            dx += dy * Dv[None, :]
            dD_acc += tl.sum(dy * x, axis=0)
        tl.store(dx_ptr + tp, dx, mask=mask_tp)
        ddt = tl.sum(du * x, axis=1)

        dy_u = _dot(dy, tl.trans(u), PRECISION)           # (l, s): dy_l . u_s
        dy_state = _dot(dy, state, PRECISION)             # (t, n)
        u_dstate = _dot(u, dstate_, PRECISION)            # (t, n)
        dC = from_start[:, None] * dy_state + _dot(dy_u * L, Bm, PRECISION)
        dB = _dot(tl.trans(dy_u * L), Cm, PRECISION) + to_end[:, None] * u_dstate
        mask_tn = valid[:, None] & (offs_n[None, :] < dstate)
        tn = t[:, None] * nheads * dstate + offs_n[None, :]
        tl.store(dC_ptr + tn, dC, mask=mask_tn)
        tl.store(dB_ptr + tn, dB, mask=mask_tn)

        # gradient of each log-decay step a[k] = min(dt_k A, 0): the sum of the terms whose exponent spans
        # step k, each summed directly. (Writing it as differences of gradients of a running sum would add
        # and then cancel terms that do not involve step k, which after one huge step loses the rest.)
        spans = offs_t[:, None] >= offs_t[None, :]                      # [l, k]: l >= k
        before = offs_t[:, None] < offs_t[None, :]                      # [s, k]: s < k
        R = dy_u * W                                                    # term (l, s) spans s < k <= l
        da = tl.sum(tl.where(spans, _dot(R, before.to(tl.float32), PRECISION), 0.0), axis=0)
        da += tl.cumsum(from_start * tl.sum(dy_state * Cm, axis=1), axis=0, reverse=True)   # spans k <= l
        into_state = to_end * tl.sum(u_dstate * Bm, axis=1)             # term s spans k > s
        da += tl.sum(tl.where(before, into_state[:, None], 0.0), axis=0)
        da += tl.exp(total) * tl.sum(tl.sum(dstate_ * state, axis=1), axis=0)  # the carried state spans all
        active = decay_passes_grad(dtv * A, GRAD_AT_KINK)
        ddt += tl.where(active, A * da, 0.0)
        if SOFTPLUS:
            ddt = ddt * softplus_grad(dt_raw)
        ddt = tl.where(live, ddt, 0.0)  # a masked step's dt is the constant 0
        tl.store(ddt_ptr + t * nheads, ddt, mask=valid)
        tl.store(dA_ptr + t * nheads, tl.where(active, dtv * da, 0.0), mask=valid)

        dstate_ = tl.exp(total) * dstate_ + _dot(tl.trans(dy * from_start[:, None]), Cm, PRECISION)

    if HAS_INIT:
        tl.store(dinit_ptr + (b * nheads + h) * headdim * dstate + pn, dstate_, mask=mask_pn)
    if HAS_D:
        tl.store(dD_ptr + (b * nheads + h) * headdim + offs_p, dD_acc, mask=offs_p < headdim)


# ----------------------------------------------------------------------------------------------
# launch
# ----------------------------------------------------------------------------------------------

MAX_CHUNK = 64  # a larger chunk_size runs as chunks of 64 (see the module docstring)


def _blocks(seqlen, chunk_size, headdim, dstate):
    """(chunk, nchunks, BLOCK_T, BLOCK_P, BLOCK_N); tl.dot wants every tile side >= 16."""
    chunk = min(chunk_size, seqlen, MAX_CHUNK)
    block_n = max(16, triton.next_power_of_2(dstate))
    block_p = max(16, min(triton.next_power_of_2(headdim), 64, max(16, 4096 // block_n)))
    return chunk, triton.cdiv(seqlen, chunk), max(16, triton.next_power_of_2(chunk)), block_p, block_n


def _optional_args(x, D, z, dt_bias, nheads, headdim):
    """Pointers and strides of the optional inputs (x as a never-read placeholder when absent).
    D of shape (nheads,) is read as (nheads, headdim) with a zero stride along headdim."""
    if D is None:
        D_arg, sD = x, (0, 0)
    else:
        D_arg = D if D.dim() == 2 else D[:, None].expand(nheads, headdim)
        sD = D_arg.stride()
    z_arg, sz = (x, (0, 0, 0, 0)) if z is None else (z, z.stride())
    bias_arg, sbias = (x, 0) if dt_bias is None else (dt_bias, dt_bias.stride(0))
    return D_arg, sD, z_arg, sz, bias_arg, sbias


def _forward(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states, reverse, mask, store_states):
    batch, seqlen, nheads, headdim = x.shape
    ngroups, dstate = B.shape[2], B.shape[3]
    chunk, nchunks, block_t, block_p, block_n = _blocks(seqlen, chunk_size, headdim, dstate)
    out = alloc.empty(x.shape, like=x)
    final = alloc.empty(batch, nheads, headdim, dstate, like=x, dtype=torch.float32)
    states = alloc.empty(batch, nchunks, nheads, headdim, dstate, like=x, dtype=torch.float32) \
        if store_states else None
    D_arg, sD, z_arg, sz, bias_arg, sbias = _optional_args(x, D, z, dt_bias, nheads, headdim)
    init_arg, si = (x, (0, 0, 0, 0)) if initial_states is None else (initial_states, initial_states.stride())
    grid = (batch * nheads, triton.cdiv(headdim, block_p))
    with on_device(x):
        _ssd_fwd_kernel[grid](
            x, dt, A, B, C, D_arg, z_arg, bias_arg, init_arg, x if mask is None else mask,
            out, final, final if states is None else states,
            seqlen, nheads, headdim, dstate, nheads // ngroups, chunk, nchunks,
            *x.stride(), *dt.stride(), *B.stride(), *C.stride(), *sz, A.stride(0), *sD, sbias, *si,
            HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=dt_bias is not None, SOFTPLUS=dt_softplus,
            HAS_INIT=initial_states is not None, REVERSE=reverse, HAS_MASK=mask is not None,
            STORE_STATES=store_states, BLOCK_T=block_t, BLOCK_P=block_p, BLOCK_N=block_n,
            PRECISION=dot_precision(x.device))
    return out, final, states


def _backward(dout, dfinal, states, x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states,
              reverse, mask):
    batch, seqlen, nheads, headdim = x.shape
    ngroups, dstate = B.shape[2], B.shape[3]
    chunk, nchunks, block_t, block_p, block_n = _blocks(seqlen, chunk_size, headdim, dstate)
    nblocks = triton.cdiv(headdim, block_p)
    f32 = dict(like=x, dtype=torch.float32)
    dx = alloc.empty(x.shape, like=x)
    dz = None if z is None else alloc.empty(z.shape, like=z)
    dB_part = alloc.empty(nblocks, batch, seqlen, nheads, dstate, **f32)
    dC_part = alloc.empty(nblocks, batch, seqlen, nheads, dstate, **f32)
    ddt_part = alloc.empty(nblocks, batch, seqlen, nheads, **f32)
    dA_part = alloc.empty(nblocks, batch, seqlen, nheads, **f32)
    dD_part = None if D is None else alloc.empty(batch, nheads, headdim, **f32)
    dinit = None if initial_states is None else alloc.empty(batch, nheads, headdim, dstate, **f32)
    D_arg, sD, z_arg, sz, bias_arg, sbias = _optional_args(x, D, z, dt_bias, nheads, headdim)
    dfinal_arg, sf = (x, (0, 0, 0, 0)) if dfinal is None else (dfinal, dfinal.stride())
    grid = (batch * nheads, nblocks)
    with on_device(x):
        _ssd_bwd_kernel[grid](
            x, dt, A, B, C, D_arg, z_arg, bias_arg, x if mask is None else mask, dout, dfinal_arg, states,
            dx, x if dz is None else dz, dB_part, dC_part, ddt_part, dA_part,
            x if dD_part is None else dD_part, x if dinit is None else dinit,
            batch, seqlen, nheads, headdim, dstate, nheads // ngroups, chunk, nchunks,
            *x.stride(), *dt.stride(), *B.stride(), *C.stride(), *sz, A.stride(0), *sD, sbias,
            *dout.stride(), *sf,
            HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=dt_bias is not None, SOFTPLUS=dt_softplus,
            HAS_INIT=initial_states is not None, HAS_DFINAL=dfinal is not None, REVERSE=reverse,
            HAS_MASK=mask is not None, GRAD_AT_KINK=decay_grad_at_kink(),
            BLOCK_T=block_t, BLOCK_P=block_p, BLOCK_N=block_n, PRECISION=dot_precision(x.device))

    per_group = (batch, seqlen, ngroups, nheads // ngroups, dstate)
    dB = dB_part.sum(0).view(per_group).sum(3)
    dC = dC_part.sum(0).view(per_group).sum(3)
    ddt = ddt_part.sum(0)
    dA = dA_part.sum((0, 1, 2))
    ddt_bias = None if dt_bias is None else ddt.sum((0, 1))
    dD = None if D is None else (dD_part.sum(0) if D.dim() == 2 else dD_part.sum((0, 2)))
    return dx, ddt, dA, dB, dC, dD, dz, ddt_bias, dinit


class _SSDScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dt, A, B, C, D, z, dt_bias, initial_states, mask, chunk_size, dt_softplus, reverse):
        out, final, states = _forward(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states,
                                      reverse, mask, store_states=any(ctx.needs_input_grad))
        ctx.save_for_backward(x, dt, A, B, C, D, z, dt_bias, initial_states, mask, states)
        ctx.chunk_size, ctx.dt_softplus, ctx.reverse = chunk_size, dt_softplus, reverse
        ctx.set_materialize_grads(False)
        final_dtype = compute_dtype(x, dt, A, B, C, initial_states)
        return out, final if final_dtype == torch.float32 else final.to(final_dtype)

    @staticmethod
    @once_differentiable  # the backward kernel is not differentiable: double backward is an error, not a wrong answer
    def backward(ctx, dout, dfinal):
        x, dt, A, B, C, D, z, dt_bias, initial_states, mask, states = ctx.saved_tensors
        if dout is None:
            dout = torch.zeros_like(x)
        grads = _backward(dout, dfinal, states, x, dt, A, B, C, ctx.chunk_size, D, z, dt_bias,
                          ctx.dt_softplus, initial_states, ctx.reverse, mask)
        inputs = (x, dt, A, B, C, D, z, dt_bias, initial_states)
        grads = [None if g is None or not need else g.to(t.dtype)
                 for g, t, need in zip(grads, inputs, ctx.needs_input_grad)]
        return (*grads, None, None, None, None)


# ----------------------------------------------------------------------------------------------
# backend interface (see zoo.ops.dispatch)
# ----------------------------------------------------------------------------------------------

def scan(x, dt, A, B, C, chunk_size, D, z, dt_bias, dt_softplus, initial_states, reverse, mask):
    """Validated inputs, B and C as (batch, seqlen, ngroups, dstate). Returns (y, final_states)."""
    return _SSDScan.apply(x, dt, A, B, C, D, z, dt_bias, initial_states, mask_bytes(mask), int(chunk_size),
                          bool(dt_softplus), bool(reverse))


def kernel_key(**call) -> tuple:
    """What selects the compiled kernels of a call: flags, dtypes and tile sizes (see zoo.ops.probe)."""
    (_, seqlen, _, headdim), dstate = call["x"].shape, call["B"].shape[3]
    return probe.dtypes_and_flags(call), _blocks(seqlen, call["chunk_size"], headdim, dstate)[2:]


def probe_inputs(**call) -> dict:
    """A small problem that launches the same kernels as `call`: batch 1, two heads in one group, the same
    headdim and dstate, and a few chunks of the same tile length."""
    (_, seqlen, _, headdim), dstate = call["x"].shape, call["B"].shape[3]
    chunk = _blocks(seqlen, call["chunk_size"], headdim, dstate)[0]
    L = seqlen if seqlen <= chunk else 2 * chunk + 3
    shapes = dict(x=(1, L, 2, headdim), z=(1, L, 2, headdim), dt=(1, L, 2), A=(2,), dt_bias=(2,),
                  B=(1, L, 1, dstate), C=(1, L, 1, dstate), D=(2,) if call["D"] is None or call["D"].dim() == 1
                  else (2, headdim), initial_states=(1, 2, headdim, dstate), mask=(1, L))
    return dict(probe.small_like(call, shapes), chunk_size=chunk)
