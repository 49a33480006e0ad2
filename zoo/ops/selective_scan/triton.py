"""Mamba-1 selective scan in fused Triton kernels: one forward and one backward kernel, the
optional inputs (D, z, delta_bias, softplus, initial_state) and `reverse` as constexpr flags.

Design, and why:
- One program owns one (batch, block of channels of one group) and walks time in blocks of
  BLOCK_T steps, holding its (channels, dstate) slice of the state in registers. Programs never
  talk to each other, and the (batch, seqlen, dim, dstate) state never exists in memory: a
  block's states live only as a (channels, dstate, BLOCK_T) register tile. Keeping a program's
  channels inside one group lets it load B and C once as a (dstate, time) tile for all of them.
- Inside a block, h_t = a_t h_{t-1} + x_t is one `tl.associative_scan` along time with the
  affine-map combine (a1, b1), (a2, b2) -> (a1 a2, a2 b1 + b2): log-depth instead of BLOCK_T
  dependent steps, and every factor is a decay exp(min(dt A, 0)) <= 1, so nothing overflows at
  any length or dt. The state entering the block is applied afterwards as (prod a) h_in.
- reverse=True only changes which physical time index a logical step reads (t = L-1-s), so
  both directions are the same kernel and the same code path.
- The forward saves the state entering each time block (batch, nchunks, dim, dstate) when a
  gradient is needed; that costs dstate / BLOCK_T float32 per element of u (one at dstate 16),
  and lets the backward walk the blocks in reverse and recompute each block's states
  from its checkpoint instead of storing them all.
- The adjoint lam_t = dL/dh_t obeys lam_t = C_t dy_t + a_{t+1} lam_{t+1}. Its factor sits one
  step later than the term, so instead of loading shifted decays the reverse scan carries a
  third component, the first decay of each segment: (p, q, f) maps the gradient flowing into the
  state just after the segment, mu, to lam = p + q mu, and a segment's f converts its own lam into
  the mu of the segment before it. The gradient through a_t uses a_t h_{t-1} = h_t - x_t, so the
  backward never needs the previous state (no shift, no division by a decay).
- Sums across programs go to per-program partial buffers that torch adds afterwards, so the
  result is deterministic: dB and dC over the channel blocks of a group, (batch, groups,
  nblocks, dstate, seqlen) in float32; dA, dD and ddelta_bias over batch. The dB/dC partials
  cost 2 * dstate / BLOCK_D floats per input element; atomics would avoid them but would make
  gradients run-to-run nondeterministic.
- softplus, the decay and its gradient rule at the clamp's kink come from zoo.ops.triton_common,
  shared with the SSD kernels. A padding mask sets dt = 0 where it is False, as the other backends do.
- Everything is computed in float32 whatever the input dtype (float64 inputs get float32
  accuracy, returned in float64).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from .. import alloc, probe
from ..checks import compute_dtype
from ..triton_common import (decay_grad_at_kink, decay_passes_grad, log_decay, mask_bytes, on_device,
                             or_placeholder, softplus, softplus_grad)
from .common import per_token

BLOCK_T = 16       # time steps per scanned tile, and the checkpoint interval of the backward
TILE_BUDGET = 2048  # elements of a (channels, dstate, time) register tile; sets the channel block


# ----------------------------------------------------------------------------------------------
# kernel helpers
# ----------------------------------------------------------------------------------------------

@triton.jit
def _affine(a1, b1, a2, b2):
    """Compose h -> a1 h + b1, then h -> a2 h + b2."""
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _adjoint(p_later, q_later, f_later, p, q, f):
    """Join segment [s..m] (p, q, f) with the later segment [m+1..e]: lam_s = p + q mu_{m+1}, and
    mu_{m+1} = f_later lam_{m+1} = f_later (p_later + q_later mu_{e+1})."""
    return p + q * f_later * p_later, q * f_later * q_later, f


@triton.jit
def _program_tile(dim, dim_per_group, nblocks, dstate, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Which (batch, group, channels) this program owns, and the offsets every kernel needs."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)  # 64-bit offsets from here on: large inputs pass 2**31 elements
    g = pid // nblocks
    blk = pid % nblocks
    local = blk * BLOCK_D + tl.arange(0, BLOCK_D)  # channel index inside the group
    chans = g * dim_per_group + local
    mask_d = local < dim_per_group
    offs_n = tl.arange(0, BLOCK_N)
    mask_n = offs_n < dstate
    mask_dn = mask_d[:, None] & mask_n[None, :]
    dn = chans[:, None] * dstate + offs_n[None, :]  # offsets in a contiguous (dim, dstate) array
    return b, g, blk, chans, mask_d, offs_n, mask_n, mask_dn, dn


@triton.jit
def _load_block(u_ptr, delta_ptr, B_ptr, C_ptr, mask_ptr, row, bc_row, mask_row, mask_d, mask_n, start, seqlen,
                bias, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, REVERSE: tl.constexpr,
                HAS_MASK: tl.constexpr, BLOCK_T: tl.constexpr):
    """One time block as float32 tiles. Steps past the end, and masked steps, get dt = 0: their decay
    is 1 and they add nothing, so the state passes through them unchanged. `live` marks the
    (channel, step) entries whose dt is real."""
    s = start + tl.arange(0, BLOCK_T)  # logical step
    if REVERSE:
        t = seqlen - 1 - s             # physical position it reads
    else:
        t = s
    valid = s < seqlen
    m_dt = mask_d[:, None] & valid[None, :]
    m_nt = mask_n[:, None] & valid[None, :]
    dt_off = row[:, None] + t[None, :]
    u = tl.load(u_ptr + dt_off, mask=m_dt, other=0.0).to(tl.float32)
    pre = tl.load(delta_ptr + dt_off, mask=m_dt, other=0.0).to(tl.float32)
    if HAS_BIAS:
        pre += bias[:, None]
    if SOFTPLUS:
        dt = softplus(pre)
    else:
        dt = pre
    live = m_dt
    if HAS_MASK:
        live = live & (tl.load(mask_ptr + mask_row + t, mask=valid, other=0) != 0)[None, :]
    dt = tl.where(live, dt, 0.0)
    Bt = tl.load(B_ptr + bc_row[:, None] + t[None, :], mask=m_nt, other=0.0).to(tl.float32)
    Ct = tl.load(C_ptr + bc_row[:, None] + t[None, :], mask=m_nt, other=0.0).to(tl.float32)
    return t, dt_off, m_dt, live, m_nt, u, pre, dt, Bt, Ct


@triton.jit
def _discretize(dt, u, A, Bt):
    """(channels, dstate, time) tiles: dt A, the decay a = exp(min(dt A, 0)) and the input x = dt u B."""
    dtA = dt[:, None, :] * A[:, :, None]
    a = tl.exp(log_decay(dtA))
    x = (dt * u)[:, None, :] * Bt[None, :, :]
    return dtA, a, x


@triton.jit
def _states(a, x, h_in):
    """h_t for every step of the block, from the state h_in entering it."""
    decay, h_zero = tl.associative_scan((a, x), 2, _affine)
    return decay * h_in[:, :, None] + h_zero


@triton.jit
def _at(tile, index: tl.constexpr, BLOCK_T: tl.constexpr):
    """tile[:, :, index] of a (channels, dstate, time) tile."""
    pick = tl.arange(0, BLOCK_T)[None, None, :] == index
    return tl.sum(tl.where(pick, tile, 0.0), axis=2)


# ----------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------

@triton.jit
def _scan_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr, h0_ptr, mask_ptr,
    out_ptr, last_ptr, ckpt_ptr,
    dim, seqlen, dstate, groups, dim_per_group, nblocks, nchunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    HAS_H0: tl.constexpr, REVERSE: tl.constexpr, HAS_MASK: tl.constexpr, SAVE_CKPT: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):
    b, g, blk, chans, mask_d, offs_n, mask_n, mask_dn, dn = _program_tile(
        dim, dim_per_group, nblocks, dstate, BLOCK_D, BLOCK_N)
    row = (b * dim + chans) * seqlen                       # (batch, dim, seqlen) series
    bc_row = ((b * groups + g) * dstate + offs_n) * seqlen  # (batch, groups, dstate, seqlen) B and C
    A = tl.load(A_ptr + dn, mask=mask_dn, other=0.0).to(tl.float32)
    bias = tl.load(bias_ptr + chans, mask=mask_d, other=0.0).to(tl.float32) if HAS_BIAS else 0.0
    if HAS_D:
        Dv = tl.load(D_ptr + chans, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_H0:
        h = tl.load(h0_ptr + b * dim * dstate + dn, mask=mask_dn, other=0.0).to(tl.float32)
    else:
        h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)

    for c in range(nchunks):
        if SAVE_CKPT:  # the state entering block c, for the backward
            tl.store(ckpt_ptr + (b * nchunks + c) * dim * dstate + dn, h, mask=mask_dn)
        t, dt_off, m_dt, live, m_nt, u, pre, dt, Bt, Ct = _load_block(
            u_ptr, delta_ptr, B_ptr, C_ptr, mask_ptr, row, bc_row, b * seqlen, mask_d, mask_n, c * BLOCK_T,
            seqlen, bias, HAS_BIAS, SOFTPLUS, REVERSE, HAS_MASK, BLOCK_T)
        dtA, a, x = _discretize(dt, u, A, Bt)
        hs = _states(a, x, h)
        y = tl.sum(hs * Ct[None, :, :], axis=1)
        if HAS_D:
            y += Dv[:, None] * u
        if HAS_Z:
            zv = tl.load(z_ptr + dt_off, mask=m_dt, other=0.0).to(tl.float32)
            y = y * zv * tl.sigmoid(zv)
        tl.store(out_ptr + dt_off, y, mask=m_dt)
        h = _at(hs, BLOCK_T - 1, BLOCK_T)  # padded steps carry the state, so the last column is exact

    tl.store(last_ptr + b * dim * dstate + dn, h, mask=mask_dn)


@triton.jit
def _scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr, mask_ptr, ckpt_ptr, dout_ptr, dlast_ptr,
    du_ptr, ddelta_ptr, dz_ptr, dB_ptr, dC_ptr, dA_ptr, dD_ptr, dbias_ptr, dh0_ptr,
    dim, seqlen, dstate, groups, dim_per_group, nblocks, nchunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    HAS_H0: tl.constexpr, REVERSE: tl.constexpr, HAS_MASK: tl.constexpr, GRAD_AT_KINK: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):
    b, g, blk, chans, mask_d, offs_n, mask_n, mask_dn, dn = _program_tile(
        dim, dim_per_group, nblocks, dstate, BLOCK_D, BLOCK_N)
    row = (b * dim + chans) * seqlen
    bc_row = ((b * groups + g) * dstate + offs_n) * seqlen
    part_row = (((b * groups + g) * nblocks + blk) * dstate + offs_n) * seqlen  # this program's dB, dC slot
    state_base = b * dim * dstate
    A = tl.load(A_ptr + dn, mask=mask_dn, other=0.0).to(tl.float32)
    bias = tl.load(bias_ptr + chans, mask=mask_d, other=0.0).to(tl.float32) if HAS_BIAS else 0.0
    if HAS_D:
        Dv = tl.load(D_ptr + chans, mask=mask_d, other=0.0).to(tl.float32)
        dD_acc = tl.zeros((BLOCK_D,), dtype=tl.float32)
    if HAS_BIAS:
        dbias_acc = tl.zeros((BLOCK_D,), dtype=tl.float32)
    dA_acc = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    # mu: d loss / d (state leaving the current block), carried backwards through the blocks
    mu = tl.load(dlast_ptr + state_base + dn, mask=mask_dn, other=0.0).to(tl.float32)
    ones = tl.full((BLOCK_D, BLOCK_N, BLOCK_T), 1.0, dtype=tl.float32)

    for i in range(nchunks):
        c = nchunks - 1 - i
        h_in = tl.load(ckpt_ptr + (b * nchunks + c) * dim * dstate + dn, mask=mask_dn, other=0.0)
        t, dt_off, m_dt, live, m_nt, u, pre, dt, Bt, Ct = _load_block(
            u_ptr, delta_ptr, B_ptr, C_ptr, mask_ptr, row, bc_row, b * seqlen, mask_d, mask_n, c * BLOCK_T,
            seqlen, bias, HAS_BIAS, SOFTPLUS, REVERSE, HAS_MASK, BLOCK_T)
        dtA, a, x = _discretize(dt, u, A, Bt)
        hs = _states(a, x, h_in)

        # epilogue out = (y + D u) * silu(z), backwards: dy = d loss / d y
        dy = tl.load(dout_ptr + dt_off, mask=m_dt, other=0.0).to(tl.float32)
        if HAS_Z:
            y = tl.sum(hs * Ct[None, :, :], axis=1)
            if HAS_D:
                y += Dv[:, None] * u
            zv = tl.load(z_ptr + dt_off, mask=m_dt, other=0.0).to(tl.float32)
            sig = tl.sigmoid(zv)
            tl.store(dz_ptr + dt_off, dy * y * sig * (1.0 + zv * (1.0 - sig)), mask=m_dt)
            dy = dy * zv * sig
        tl.store(dC_ptr + part_row[:, None] + t[None, :],
                 tl.sum(hs * dy[:, None, :], axis=0), mask=m_nt)

        # lam_t = d loss / d h_t, from the term C_t dy_t of each step and mu after the block
        p, q, f = tl.associative_scan((Ct[None, :, :] * dy[:, None, :], ones, a), 2, _adjoint, reverse=True)
        lam = p + q * mu[:, :, None]
        mu = _at(a * lam, 0, BLOCK_T)  # into the state entering the block: a_first lam_first

        dtu = dt * u
        tl.store(dB_ptr + part_row[:, None] + t[None, :],
                 tl.sum(lam * dtu[:, None, :], axis=0), mask=m_nt)
        lamB = tl.sum(lam * Bt[None, :, :], axis=1)
        du = dt * lamB
        if HAS_D:
            du += Dv[:, None] * dy
            dD_acc += tl.sum(dy * u, axis=1)
        tl.store(du_ptr + dt_off, du, mask=m_dt)
        # through the decay: d h_t / d(dt A) = a_t h_{t-1} = h_t - x_t where the decay passes a gradient
        w = tl.where(decay_passes_grad(dtA, GRAD_AT_KINK), lam * (hs - x), 0.0)
        dA_acc += tl.sum(w * dt[:, None, :], axis=2)
        ddt = u * lamB + tl.sum(w * A[:, :, None], axis=1)
        if SOFTPLUS:
            ddt = ddt * softplus_grad(pre)
        ddt = tl.where(live, ddt, 0.0)  # a masked step's dt is the constant 0
        tl.store(ddelta_ptr + dt_off, ddt, mask=m_dt)
        if HAS_BIAS:
            dbias_acc += tl.sum(ddt, axis=1)

    tl.store(dA_ptr + state_base + dn, dA_acc, mask=mask_dn)
    if HAS_H0:
        tl.store(dh0_ptr + state_base + dn, mu, mask=mask_dn)
    if HAS_D:
        tl.store(dD_ptr + b * dim + chans, dD_acc, mask=mask_d)
    if HAS_BIAS:
        tl.store(dbias_ptr + b * dim + chans, dbias_acc, mask=mask_d)


# ----------------------------------------------------------------------------------------------
# launch
# ----------------------------------------------------------------------------------------------

def _blocks(seqlen, dim_per_group, dstate):
    """(BLOCK_D, BLOCK_N, BLOCK_T, nblocks per group, nchunks); dstate is padded to a power of two."""
    block_t = min(BLOCK_T, triton.next_power_of_2(seqlen))
    block_n = triton.next_power_of_2(dstate)
    block_d = min(triton.next_power_of_2(dim_per_group), max(1, TILE_BUDGET // (block_n * block_t)))
    return block_d, block_n, block_t, triton.cdiv(dim_per_group, block_d), triton.cdiv(seqlen, block_t)


def _flags(D, z, delta_bias, softplus, initial_state, reverse, mask):
    return dict(HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
                SOFTPLUS=softplus, HAS_H0=initial_state is not None, REVERSE=reverse, HAS_MASK=mask is not None)


def _forward(u, delta, A, B, C, D, z, delta_bias, softplus, initial_state, reverse, mask, save_ckpt):
    batch, dim, seqlen = u.shape
    groups, dstate = B.shape[1], B.shape[2]
    block_d, block_n, block_t, nblocks, nchunks = _blocks(seqlen, dim // groups, dstate)
    f32 = dict(like=u, dtype=torch.float32)
    out = alloc.empty(batch, dim, seqlen, like=u)
    last = alloc.empty(batch, dim, dstate, **f32)
    ckpt = alloc.empty(batch, nchunks, dim, dstate, **f32) if save_ckpt else None
    with on_device(u):
        _scan_fwd_kernel[(groups * nblocks, batch)](
            u, delta, A, B, C, *(or_placeholder(t, u) for t in (D, z, delta_bias, initial_state, mask)),
            out, last, or_placeholder(ckpt, last),
            dim, seqlen, dstate, groups, dim // groups, nblocks, nchunks,
            **_flags(D, z, delta_bias, softplus, initial_state, reverse, mask), SAVE_CKPT=save_ckpt,
            BLOCK_D=block_d, BLOCK_N=block_n, BLOCK_T=block_t)
    return out, last, ckpt


def _backward(dout, dlast, ckpt, u, delta, A, B, C, D, z, delta_bias, softplus, initial_state, reverse, mask):
    batch, dim, seqlen = u.shape
    groups, dstate = B.shape[1], B.shape[2]
    block_d, block_n, block_t, nblocks, nchunks = _blocks(seqlen, dim // groups, dstate)
    f32 = dict(like=u, dtype=torch.float32)
    du = alloc.empty(u.shape, like=u)
    ddelta = alloc.empty(delta.shape, like=delta)
    dz = None if z is None else alloc.empty(z.shape, like=z)
    dB_part = alloc.empty(batch, groups, nblocks, dstate, seqlen, **f32)
    dC_part = alloc.empty(batch, groups, nblocks, dstate, seqlen, **f32)
    dA_part = alloc.empty(batch, dim, dstate, **f32)
    dD_part = None if D is None else alloc.empty(batch, dim, **f32)
    dbias_part = None if delta_bias is None else alloc.empty(batch, dim, **f32)
    dh0 = None if initial_state is None else alloc.empty(batch, dim, dstate, **f32)
    with on_device(u):
        _scan_bwd_kernel[(groups * nblocks, batch)](
            u, delta, A, B, C, *(or_placeholder(t, u) for t in (D, z, delta_bias, mask)), ckpt, dout, dlast,
            du, ddelta, or_placeholder(dz, du), dB_part, dC_part, dA_part,
            *(or_placeholder(t, dA_part) for t in (dD_part, dbias_part, dh0)),
            dim, seqlen, dstate, groups, dim // groups, nblocks, nchunks,
            **_flags(D, z, delta_bias, softplus, initial_state, reverse, mask),
            GRAD_AT_KINK=decay_grad_at_kink(), BLOCK_D=block_d, BLOCK_N=block_n, BLOCK_T=block_t)
    dD = None if D is None else dD_part.sum(0)
    dbias = None if delta_bias is None else dbias_part.sum(0)
    return du, ddelta, dA_part.sum(0), dB_part.sum(2), dC_part.sum(2), dD, dz, dbias, dh0


def _contiguous(t):
    return None if t is None else t.contiguous()


class _SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, initial_state, mask, softplus, reverse):
        inputs = tuple(_contiguous(t) for t in (u, delta, A, B, C, D, z, delta_bias, initial_state))
        out, last, ckpt = _forward(*inputs[:8], softplus, inputs[8], reverse, mask,
                                   save_ckpt=any(ctx.needs_input_grad))
        ctx.save_for_backward(*inputs, mask, ckpt)
        ctx.softplus, ctx.reverse = softplus, reverse
        state_dtype = compute_dtype(u, delta, A, B, C, initial_state)
        return out, last if state_dtype == torch.float32 else last.to(state_dtype)

    @staticmethod
    @once_differentiable  # the backward kernel is not differentiable: double backward is an error, not a wrong answer
    def backward(ctx, dout, dlast):
        *inputs, mask, ckpt = ctx.saved_tensors
        u, delta, A, B, C, D, z, delta_bias, initial_state = inputs
        grads = _backward(dout.contiguous(), dlast.to(torch.float32).contiguous(), ckpt,
                          u, delta, A, B, C, D, z, delta_bias, ctx.softplus, initial_state, ctx.reverse, mask)
        grads = [None if g is None or not need else g.to(t.dtype)
                 for g, t, need in zip(grads, inputs, ctx.needs_input_grad)]
        return (*grads, None, None, None)


# ----------------------------------------------------------------------------------------------
# backend interface (see zoo.ops.dispatch)
# ----------------------------------------------------------------------------------------------

def scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, initial_state, reverse, mask):
    """Validated inputs, B and C grouped as (batch, groups, dstate, seqlen) or time-invariant (dim, dstate),
    which the kernels read as one group per channel. Returns (out, last_state)."""
    B, C = per_token(B, u.shape[0], u.shape[2]), per_token(C, u.shape[0], u.shape[2])
    return _SelectiveScan.apply(u, delta, A, B, C, D, z, delta_bias, initial_state, mask_bytes(mask),
                                bool(delta_softplus), bool(reverse))


def kernel_key(**call) -> tuple:
    """What selects the compiled kernels of a call: flags, dtypes and tile sizes (see zoo.ops.probe)."""
    (batch, dim, seqlen), (groups, dstate) = call["u"].shape, _groups_and_dstate(call)
    return probe.dtypes_and_flags(call), _blocks(seqlen, dim // groups, dstate)[:3]


def _groups_and_dstate(call: dict) -> tuple[int, int]:
    B = call["B"]
    return (B.shape[0], B.shape[1]) if B.dim() == 2 else B.shape[1:3]


def probe_inputs(**call) -> dict:
    """A small problem that launches the same kernels as `call`: batch 1, one group of one channel block,
    the same dstate, and a few time blocks (the call's own length when it is shorter than one block)."""
    (_, dim, seqlen), (groups, dstate) = call["u"].shape, _groups_and_dstate(call)
    block_d, _, block_t, _, _ = _blocks(seqlen, dim // groups, dstate)
    L = seqlen if seqlen <= block_t else 2 * block_t + 3
    d = min(block_d, dim // groups)
    shapes = dict(u=(1, d, L), delta=(1, d, L), z=(1, d, L), A=(d, dstate), B=(1, 1, dstate, L),
                  C=(1, 1, dstate, L), D=(d,), delta_bias=(d,), initial_state=(1, d, dstate), mask=(1, L))
    return probe.small_like(call, shapes)
