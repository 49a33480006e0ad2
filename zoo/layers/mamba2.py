"""Mamba-2 mixer (Dao & Gu 2024): one in_proj for z, x, B, C and dt -> causal conv over x, B, C -> SiLU
-> SSD (scalar A per head, B/C shared by groups of heads) -> gated RMSNorm -> out_proj."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import ssd, ssd_step
from . import init
from .conv import CausalConv1d, masked_read
from .mamba1 import ssm_state_dtype
from .norms import GatedRMSNorm


class Mamba2Mixer(nn.Module):
    """(batch, seqlen, d_model) -> (batch, seqlen, d_model); d_inner = expand * d_model channels in
    nheads = d_inner / headdim heads, each with a (headdim, d_state) state."""

    def __init__(self, d_model: int, d_state: int = 64, expand: int = 2, headdim: int = 64, ngroups: int = 1,
                 d_conv: int = 4, chunk_size: int = 64, dt_min: float = 1e-3, dt_max: float = 1e-1,
                 A_init_range=(1, 16), dt_init_floor: float = 1e-4):
        super().__init__()
        d_inner = int(expand * d_model)
        if headdim < 1 or d_inner % headdim:
            raise ValueError(f"Mamba2Mixer: d_inner = expand * d_model = {d_inner} is not divisible by "
                             f"headdim={headdim}; pick headdim dividing {d_inner} or change expand/d_model")
        nheads = d_inner // headdim
        if ngroups < 1 or nheads % ngroups:
            raise ValueError(f"Mamba2Mixer: nheads = d_inner / headdim = {nheads} is not divisible by "
                             f"ngroups={ngroups}")
        lo, hi = A_init_range
        if not 0 < lo <= hi:
            raise ValueError(f"Mamba2Mixer: A_init_range must satisfy 0 < low <= high, got {A_init_range}")
        self.d_model, self.d_state, self.d_conv, self.chunk_size = d_model, d_state, d_conv, chunk_size
        self.d_inner, self.headdim, self.nheads, self.ngroups = d_inner, headdim, nheads, ngroups
        self.conv_dim = d_inner + 2 * ngroups * d_state

        self.in_proj = nn.Linear(d_model, d_inner + self.conv_dim + nheads, bias=False)
        self.conv = CausalConv1d(self.conv_dim, d_conv)
        self.dt_bias = nn.Parameter(init.dt_bias(nheads, dt_min, dt_max, dt_init_floor))
        self.A_log = nn.Parameter(torch.log(torch.empty(nheads).uniform_(lo, hi)))
        self.D = nn.Parameter(torch.ones(nheads))
        init.no_weight_decay(self.dt_bias, self.A_log, self.D)
        self.norm = GatedRMSNorm(d_inner, group_size=d_inner // ngroups)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def _split(self, zxbcdt):
        return zxbcdt.split([self.d_inner, self.conv_dim, self.nheads], dim=-1)

    def _heads(self, xBC):
        """(..., conv_dim) -> x (..., nheads, headdim), B and C (..., ngroups, d_state)."""
        gn = self.ngroups * self.d_state
        x, B, C = xBC.split([self.d_inner, gn, gn], dim=-1)
        return (x.unflatten(-1, (self.nheads, self.headdim)),
                B.unflatten(-1, (self.ngroups, self.d_state)), C.unflatten(-1, (self.ngroups, self.d_state)))

    def forward(self, x, with_state=False, mask=None):
        """with_state: also the decoding state after the last token (prefill), (out, state). mask (batch,
        seqlen), False at padding (see zoo.layers.conv.masked_read)."""
        z, read, dt = self._split(self.in_proj(x))
        read = read.transpose(1, 2)
        xs, B, C = self._heads(F.silu(self.conv(masked_read(read, mask))).transpose(1, 2))
        y, h = ssd(xs, dt, -torch.exp(self.A_log), B, C, self.chunk_size, D=self.D, dt_bias=self.dt_bias,
                   dt_softplus=True, return_final_states=True, mask=mask)
        out = self.out_proj(self.norm(y.flatten(-2), z))
        return (out, (self.conv.window_after(read), h)) if with_state else out

    def init_state(self, batch, device=None, dtype=None):
        device = self.A_log.device if device is None else device
        dtype = self.A_log.dtype if dtype is None else dtype
        return (self.conv.init_window(batch, device, dtype),
                torch.zeros(batch, self.nheads, self.headdim, self.d_state, device=device,
                            dtype=ssm_state_dtype(dtype)))

    def step(self, x_t, state):
        window, h = state
        z, xBC, dt = self._split(self.in_proj(x_t))
        xBC, window = self.conv.step(xBC, window)
        xs, B, C = self._heads(F.silu(xBC))
        y, h = ssd_step(h, xs, dt, -torch.exp(self.A_log), B, C, D=self.D, dt_bias=self.dt_bias, dt_softplus=True)
        return self.out_proj(self.norm(y.flatten(-2), z)), (window, h)

    def state_size(self, seqlen: int | None = None) -> int:
        return self.conv_dim * (self.d_conv - 1) + self.nheads * self.headdim * self.d_state
