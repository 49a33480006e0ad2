"""S4D mixer: the Mamba-1 block with a time-invariant SSM (no selection), through the same scan core.

This is the ablation of the Mamba paper: dt, B and C are learned per channel and do not depend
on the input, so the only thing that differs from Mamba-1 is selection.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import selective_scan, selective_scan_step
from . import init
from .conv import CausalConv1d, masked_read
from .mamba1 import ConvSSMState


class S4DMixer(ConvSSMState, nn.Module):
    """(batch, seqlen, d_model) -> (batch, seqlen, d_model); d_inner = expand * d_model channels, each a
    diagonal real SSM of d_state entries with its own dt, B and C."""

    def __init__(self, d_model: int, d_state: int = 16, expand: int = 2, d_conv: int = 4, dt_min: float = 1e-3,
                 dt_max: float = 1e-1, A_init: str = "s4d_real"):
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = d_inner = int(expand * d_model)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv = CausalConv1d(d_inner, d_conv)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

        self.log_dt = nn.Parameter(torch.log(init.sample_dt(d_inner, dt_min, dt_max)))
        self.A_log = nn.Parameter(init.a_log(d_inner, d_state, A_init))
        # S4D's choice: B = 1, C ~ N(0, 1/2)
        self.B = nn.Parameter(torch.ones(d_inner, d_state))
        self.C = nn.Parameter(torch.randn(d_inner, d_state) * 0.5 ** 0.5)
        self.D = nn.Parameter(torch.ones(d_inner))
        # as in S4, the SSM's own parameters (A, B, dt) take no weight decay; C is an ordinary weight
        init.no_weight_decay(self.log_dt, self.A_log, self.B, self.D)

    def _ssm(self):
        return torch.exp(self.log_dt), -torch.exp(self.A_log)

    def forward(self, x, with_state=False, mask=None):
        """with_state: also the decoding state after the last token (prefill), (out, state). mask (batch,
        seqlen), False at padding (see zoo.layers.conv.masked_read)."""
        batch, seqlen, _ = x.shape
        read, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)     # (batch, d_inner, seqlen) each
        u = F.silu(self.conv(masked_read(read, mask)))
        dt, A = self._ssm()
        # (d_inner, d_state) B and C: the scan core's time-invariant layout, no copies per token
        y, h = selective_scan(u, dt[None, :, None].expand(batch, -1, seqlen), A, self.B, self.C, D=self.D, z=z,
                              return_last_state=True, mask=mask)
        out = self.out_proj(y.transpose(1, 2))
        return (out, (self.conv.window_after(read), h)) if with_state else out

    def step(self, x_t, state):
        window, h = state
        batch = x_t.shape[0]
        u, z = self.in_proj(x_t).chunk(2, dim=-1)
        u, window = self.conv.step(u, window)
        u = F.silu(u)
        dt, A = self._ssm()
        B, C = (p[None].expand(batch, -1, -1) for p in (self.B, self.C))
        y, h = selective_scan_step(h, u, dt[None].expand(batch, -1), A, B, C, D=self.D, z=z)
        return self.out_proj(y), (window, h)
