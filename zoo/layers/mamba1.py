"""Mamba-1 mixer (Gu & Dao 2023): in_proj -> causal conv -> SiLU -> selective SSM (S6) -> gate -> out_proj."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import selective_scan, selective_scan_step
from . import init
from .conv import CausalConv1d, masked_read


def ssm_state_dtype(dtype):
    # the scan core carries its state in float32, or float64 for float64 inputs
    return torch.float64 if dtype == torch.float64 else torch.float32


class ConvSSMState:
    """Decoding state of the Mamba-1 block shape (mamba1, s4d): the conv window and the SSM state."""

    def init_state(self, batch, device=None, dtype=None):
        device = self.A_log.device if device is None else device
        dtype = self.A_log.dtype if dtype is None else dtype
        return (self.conv.init_window(batch, device, dtype),
                torch.zeros(batch, self.d_inner, self.d_state, device=device, dtype=ssm_state_dtype(dtype)))

    def state_size(self, seqlen: int | None = None) -> int:
        return self.d_inner * (self.d_conv - 1) + self.d_inner * self.d_state


def forget_gate(y, u, z, D):
    """Mamba+ (Liang et al., Bi-Mamba+, 2024; the gate of their released kernel): the scan output C h gated
    by silu(z) as in Mamba, while the skip D u, which Mamba adds before the gate, passes through the
    complementary gate 1 - sigmoid(z), so what the recurrence decays away can still reach the output."""
    return y * F.silu(z) + D * u * (1 - torch.sigmoid(z))


class Mamba1Mixer(ConvSSMState, nn.Module):
    """(batch, seqlen, d_model) -> (batch, seqlen, d_model); d_inner = expand * d_model channels,
    each with its own diagonal A of d_state entries; dt, B and C are functions of the input (selection).
    `forget_gate`: the Mamba+ output gate (see `forget_gate`) instead of Mamba's y * silu(z)."""

    def __init__(self, d_model: int, d_state: int = 16, expand: int = 2, d_conv: int = 4, dt_rank="auto",
                 dt_min: float = 1e-3, dt_max: float = 1e-1, dt_init_floor: float = 1e-4, A_init: str = "s4d_real",
                 conv_bias: bool = True, bias: bool = False, forget_gate: bool = False):
        super().__init__()
        self.d_model, self.d_state, self.d_conv, self.forget_gate = d_model, d_state, d_conv, forget_gate
        self.d_inner = d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)

        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=bias)
        self.conv = CausalConv1d(d_inner, d_conv, bias=conv_bias)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner, bias=True)
        self.out_proj = nn.Linear(d_inner, d_model, bias=bias)

        # dt starts log-uniform in [dt_min, dt_max] whatever the low-rank part gives at first
        nn.init.uniform_(self.dt_proj.weight, -self.dt_rank ** -0.5, self.dt_rank ** -0.5)
        with torch.no_grad():
            self.dt_proj.bias.copy_(init.dt_bias(d_inner, dt_min, dt_max, dt_init_floor))
        self.A_log = nn.Parameter(init.a_log(d_inner, d_state, A_init))
        self.D = nn.Parameter(torch.ones(d_inner))
        init.no_weight_decay(self.A_log, self.D, self.dt_proj.bias)
        init.no_reinit(self.dt_proj.bias)

    def _selection(self, u):
        """u (..., d_inner) -> dt (..., d_inner) without its bias, B and C (..., d_state)."""
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.linear(dt, self.dt_proj.weight), B, C

    def forward(self, x, with_state=False, mask=None):
        """with_state: also the decoding state after the last token (prefill), (out, state). mask (batch,
        seqlen), False at padding: see `masked_read`."""
        read, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)     # (batch, d_inner, seqlen) each
        u = F.silu(self.conv(masked_read(read, mask)))
        dt, B, C = (t.transpose(1, 2) for t in self._selection(u.transpose(1, 2)))
        gated = self.forget_gate
        y, h = selective_scan(u, dt, -torch.exp(self.A_log), B, C, D=None if gated else self.D,
                              z=None if gated else z, delta_bias=self.dt_proj.bias, delta_softplus=True,
                              return_last_state=True, mask=mask)
        if gated:
            y = forget_gate(y, u, z, self.D[:, None])                # D per channel, u (batch, d_inner, seqlen)
        out = self.out_proj(y.transpose(1, 2))
        return (out, (self.conv.window_after(read), h)) if with_state else out

    def step(self, x_t, state):
        window, h = state
        u, z = self.in_proj(x_t).chunk(2, dim=-1)
        u, window = self.conv.step(u, window)
        u = F.silu(u)
        dt, B, C = self._selection(u)
        gated = self.forget_gate
        y, h = selective_scan_step(h, u, dt, -torch.exp(self.A_log), B, C, D=None if gated else self.D,
                                   z=None if gated else z, delta_bias=self.dt_proj.bias, delta_softplus=True)
        if gated:
            y = forget_gate(y, u, z, self.D)
        return self.out_proj(y), (window, h)
