"""The Mamba-1 block walking the same tokens in several orders at once (Vim, VMamba's SS2D, PlainMamba,
LocalMamba): one input projection and gate, per-walk SSM parameters (or one set shared by all walks), and
every walk in a single scan-core call, the walks stacked on its `groups` axis so each walk has its own B, C.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import selective_scan
from ..scan import Scan
from . import init
from .conv import CausalConv1d
from .merge import DirectionMerge

CONVS = ("1d", "2d")


class MultiScanMamba(nn.Module):
    """(batch, seqlen, d_model) -> same. The walks come from `scan` (a zoo.scan.Scan); this module gathers
    the tokens along each walk it is handed and scatters the outputs back, then merges them.

    conv '1d': a causal depthwise conv along each walk (Vim); '2d': one depthwise d_conv x d_conv conv on the
    `grid` before the walks (VMamba, PlainMamba). share_params: one x_proj / dt / A / D (and 1-D conv) for
    every walk. direction_embedding: a learned vector per walk added to its B (PlainMamba's direction-aware
    update). merge: see zoo.layers.merge, applied before the gate silu(z).
    """

    def __init__(self, d_model: int, scan: Scan, d_state: int = 16, expand: int = 2, d_conv: int = 4,
                 conv: str = "1d", grid: tuple[int, int] | None = None, share_params: bool = False,
                 merge: str = "mean", direction_embedding: bool = False, dt_rank="auto", dt_min: float = 1e-3,
                 dt_max: float = 1e-1, dt_init_floor: float = 1e-4, A_init: str = "s4d_real",
                 conv_bias: bool = True, bias: bool = False):
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"conv={conv!r} is not one of {', '.join(CONVS)}")
        if conv == "2d" and (grid is None or d_conv % 2 == 0):
            raise ValueError(f"conv='2d' needs the token grid and an odd d_conv, got grid={grid}, d_conv={d_conv}")
        self.scan, self.conv_kind, self.grid = scan, conv, grid
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.n_walks, self.n_sets = scan.count, 1 if share_params else scan.count
        sets = self.n_sets

        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=bias)
        if conv == "1d":
            self.conv = CausalConv1d(sets * d_inner, d_conv, bias=conv_bias)
        else:
            self.conv = nn.Conv2d(d_inner, d_inner, d_conv, padding=d_conv // 2, groups=d_inner, bias=conv_bias)
        bound = d_inner ** -0.5  # nn.Linear's initialisation, per walk
        self.x_proj = nn.Parameter(torch.empty(sets, self.dt_rank + 2 * d_state, d_inner).uniform_(-bound, bound))
        self.dt_proj = nn.Parameter(torch.empty(sets, d_inner, self.dt_rank).uniform_(-self.dt_rank ** -0.5,
                                                                                      self.dt_rank ** -0.5))
        self.dt_bias = nn.Parameter(init.dt_bias(sets * d_inner, dt_min, dt_max, dt_init_floor))
        self.A_log = nn.Parameter(init.a_log(sets * d_inner, d_state, A_init))
        self.D = nn.Parameter(torch.ones(sets * d_inner))
        self.direction_B = nn.Parameter(torch.zeros(self.n_walks, d_state)) if direction_embedding else None
        self.out_proj = nn.Linear(d_inner, d_model, bias=bias)
        self.merge = DirectionMerge(merge, self.n_walks, d_inner)
        init.no_weight_decay(self.A_log, self.D, self.dt_bias)

    def _per_walk(self, p: torch.Tensor) -> torch.Tensor:
        """A per-set parameter with its set axis first, repeated for every walk when the walks share it."""
        return p if self.n_sets == self.n_walks else p.repeat(self.n_walks, *([1] * (p.dim() - 1)))

    def forward(self, x):
        batch, seqlen, _ = x.shape
        (along, back), K, di = self.scan.stacked(seqlen, x.device), self.n_walks, self.d_inner
        u, z = self.in_proj(x).chunk(2, dim=-1)                        # (batch, seqlen, d_inner) each
        if self.conv_kind == "2d":
            H, W = self.grid
            u = F.silu(self.conv(u.transpose(1, 2).reshape(batch, di, H, W))).flatten(2).transpose(1, 2)
        us = u.index_select(1, along).view(batch, K, seqlen, di).transpose(2, 3)  # (batch, K, d_inner, seqlen)
        if self.conv_kind == "1d":
            # shared: the walks fold into the batch through one conv; else each walk has its own channels
            shape = (batch * K, di, seqlen) if self.n_sets == 1 else (batch, K * di, seqlen)
            us = F.silu(self.conv(us.reshape(shape))).view(batch, K, di, seqlen)
        selection = torch.einsum("bkdl,ked->bkel", us, self._per_walk(self.x_proj))
        dt, B, C = selection.split([self.dt_rank, self.d_state, self.d_state], dim=2)
        dt = torch.einsum("bkrl,kdr->bkdl", dt, self._per_walk(self.dt_proj)).reshape(batch, K * di, seqlen)
        if self.direction_B is not None:
            B = B + self.direction_B[None, :, :, None].to(B.dtype)
        y = selective_scan(us.reshape(batch, K * di, seqlen), dt, -torch.exp(self._per_walk(self.A_log)), B, C,
                           D=self._per_walk(self.D), delta_bias=self._per_walk(self.dt_bias), delta_softplus=True)
        y = y.view(batch, K, di, seqlen).transpose(2, 3).reshape(batch, K * seqlen, di)
        ys = y.index_select(1, back).view(batch, K, seqlen, di)
        return self.out_proj(self.merge(ys, u) * F.silu(z))

    def step(self, x_t, state):
        raise NotImplementedError("a multi-walk scan reads the whole token grid; it cannot decode token by token")

    def init_state(self, batch, device=None, dtype=None):
        raise NotImplementedError("a multi-walk scan has no recurrent decoding state")

    def state_size(self, seqlen: int | None = None) -> int:
        """Floats one image carries through the scans: each walk's SSM state (and 1-D conv window)."""
        window = self.d_conv - 1 if self.conv_kind == "1d" else 0
        return self.n_walks * self.d_inner * (self.d_state + window)
