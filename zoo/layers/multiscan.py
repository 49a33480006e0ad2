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
MOVES = ("start", "right", "left", "up", "down")


def moves(along: torch.Tensor, grid: tuple[int, int], walks: int, seqlen: int) -> torch.Tensor:
    """The move each step of each walk makes on the row-major grid, as an index into MOVES: the first step
    'start'; then up or down where the row changes (by its sign), else right or left."""
    H, W = grid
    if seqlen != H * W:
        raise ValueError(f"direction_embedding needs the {H}x{W} grid's tokens alone, got {seqlen} tokens "
                         f"(a class token has no move; use cls_token=none)")
    walk = along.view(walks, seqlen)
    drow, dcol = (walk // W).diff(dim=1), (walk % W).diff(dim=1)
    step = torch.where(drow != 0, torch.where(drow < 0, 3, 4), torch.where(dcol > 0, 1, 2))
    return torch.cat([torch.zeros_like(walk[:, :1]), step], dim=1)


class MultiScanMamba(nn.Module):
    """(batch, seqlen, d_model) -> same. The walks come from `scan` (a zoo.scan.Scan); this module gathers
    the tokens along each walk it is handed and scatters the outputs back, then merges them.

    conv '1d': a causal depthwise conv along each walk (Vim); '2d': one depthwise d_conv x d_conv conv on the
    `grid` before the walks (VMamba, PlainMamba). share_params: one x_proj / dt / A / D (and 1-D conv) for
    every walk. direction_embedding: PlainMamba's direction-aware update, a table of 5 learned vectors
    (start, right, left, up, down) of which each step adds to its B the one its move on the grid names
    (trunc-normal(0.02), no weight decay, as the authors'). merge: see zoo.layers.merge, applied before the
    gate silu(z); out_norm: a LayerNorm of the merged walks before the gate (VMamba's SS2D).
    """

    def __init__(self, d_model: int, scan: Scan, d_state: int = 16, expand: int = 2, d_conv: int = 4,
                 conv: str = "1d", grid: tuple[int, int] | None = None, share_params: bool = False,
                 merge: str = "mean", direction_embedding: bool = False, dt_rank="auto", dt_min: float = 1e-3,
                 dt_max: float = 1e-1, dt_init_floor: float = 1e-4, A_init: str = "s4d_real",
                 conv_bias: bool = True, bias: bool = False, out_norm: bool = False):
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"conv={conv!r} is not one of {', '.join(CONVS)}")
        if conv == "2d" and (grid is None or d_conv % 2 == 0):
            raise ValueError(f"conv='2d' needs the token grid and an odd d_conv, got grid={grid}, d_conv={d_conv}")
        if direction_embedding and grid is None:
            raise ValueError("direction_embedding needs the token grid: it embeds each step's move on it")
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
        self.direction_B = None
        if direction_embedding:
            self.direction_B = nn.Parameter(nn.init.trunc_normal_(torch.empty(len(MOVES), d_state), std=0.02))
            init.no_weight_decay(self.direction_B)
        self.out_norm = nn.LayerNorm(d_inner) if out_norm else None
        self.out_proj = nn.Linear(d_inner, d_model, bias=bias)
        self.merge = DirectionMerge(merge, self.n_walks, d_inner)
        init.no_weight_decay(self.A_log, self.D, self.dt_bias)

    def _per_walk(self, p: torch.Tensor) -> torch.Tensor:
        """A per-set parameter with its set axis first, repeated for every walk when the walks share it."""
        return p if self.n_sets == self.n_walks else p.repeat(self.n_walks, *([1] * (p.dim() - 1)))

    def forward(self, x):
        # Channels-first throughout, (batch, K, d_inner, seqlen) as the scan core reads it: the walks are
        # gathered into that layout and back out of it in one pass each, with no transposed copies between
        # (VMamba-T's step spent a fifth of its time in such copies at 512 px).
        batch, seqlen, _ = x.shape
        (along, back), K, di = self.scan.stacked(seqlen, x.device), self.n_walks, self.d_inner
        u, z = self.in_proj(x).chunk(2, dim=-1)                        # (batch, seqlen, d_inner) each
        uc = u.transpose(1, 2)                                         # (batch, d_inner, seqlen)
        if self.conv_kind == "2d":
            H, W = self.grid
            uc = F.silu(self.conv(uc.reshape(batch, di, H, W))).flatten(2)
        shape4 = (batch, K, di, seqlen)
        into = along.view(1, K, 1, seqlen).expand(shape4)              # walk k's step l reads token along[k, l]
        us = uc.unsqueeze(1).expand(shape4).gather(3, into)
        if self.conv_kind == "1d":
            # shared: the walks fold into the batch through one conv; else each walk has its own channels
            shape = (batch * K, di, seqlen) if self.n_sets == 1 else (batch, K * di, seqlen)
            us = F.silu(self.conv(us.reshape(shape))).view(shape4)
        selection = torch.matmul(self._per_walk(self.x_proj), us)     # (batch, K, dt_rank + 2 d_state, seqlen)
        dt, B, C = selection.split([self.dt_rank, self.d_state, self.d_state], dim=2)
        dt = torch.matmul(self._per_walk(self.dt_proj), dt).reshape(batch, K * di, seqlen)
        if self.direction_B is not None:   # (K, seqlen) moves -> (1, K, d_state, seqlen)
            B = B + self.direction_B[moves(along, self.grid, K, seqlen)].permute(0, 2, 1)[None].to(B.dtype)
        y = selective_scan(us.reshape(batch, K * di, seqlen), dt, -torch.exp(self._per_walk(self.A_log)), B, C,
                           D=self._per_walk(self.D), delta_bias=self._per_walk(self.dt_bias), delta_softplus=True)
        # token l of walk k's output is its step back[k, l] (the stacked inverse less the walk's offset)
        home = (back.view(K, seqlen) - torch.arange(K, device=x.device)[:, None] * seqlen).view(1, K, 1, seqlen)
        ys = y.view(shape4).gather(3, home.expand(shape4)).transpose(2, 3)   # (batch, K, seqlen, d_inner) view
        y = self.merge(ys, u)
        return self.out_proj((y if self.out_norm is None else self.out_norm(y)) * F.silu(z))

    def step(self, x_t, state):
        raise NotImplementedError("a multi-walk scan reads the whole token grid; it cannot decode token by token")

    def init_state(self, batch, device=None, dtype=None):
        raise NotImplementedError("a multi-walk scan has no recurrent decoding state")

    def state_size(self, seqlen: int | None = None) -> int:
        """Floats one image carries through the scans: each walk's SSM state (and 1-D conv window)."""
        window = self.d_conv - 1 if self.conv_kind == "1d" else 0
        return self.n_walks * self.d_inner * (self.d_state + window)
