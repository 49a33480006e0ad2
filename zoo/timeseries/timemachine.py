"""TimeMachine (Ahamed & Cheng 2024): two embedding levels of each variable's window, and at each level a
pair of Mamba blocks that read the embedding in two ways, as in the authors' released model."""
from __future__ import annotations

import torch
from torch import nn

from ..layers import Mamba1Mixer
from ..registry import Example, register_builder
from .revin import instance_norm


def _example() -> Example:
    return Example(dict(lookback=48, horizon=24, n_vars=5), dict(n1=16, n2=8), lambda g: (torch.randn(2, 48, 5, generator=g),))


@register_builder("timemachine", example=_example)
class TimeMachine(nn.Module):
    """x (batch, lookback, variables) -> (batch, horizon, variables).

    Each variable's look-back is embedded lookback -> n1 -> n2 (linear maps with dropout). At each level two
    Mamba-1 blocks read the embedding: with `channel_independent`, one reads it as n scalar tokens (a scan
    along the embedding), the other as a single token of width n; otherwise both scan across the variables
    with tokens of width n. Level 2's pair is summed (plus its input, if `residual`), mapped n2 -> n1 (plus
    level 1's input), concatenated with level 1's summed pair, and mapped 2 n1 -> horizon.
    `mamba`: the Mamba-1 settings (d_state, d_conv, expand, ...).
    """

    def __init__(self, lookback: int, horizon: int, n_vars: int, n1: int = 128, n2: int = 32,
                 mamba: dict | None = None, dropout: float = 0.2, channel_independent: bool = True,
                 residual: bool = True, revin: bool = True):
        super().__init__()
        mamba = dict(mamba or {})
        self.channel_independent, self.residual = channel_independent, residual
        self.revin = instance_norm(revin, n_vars)
        self.embed1, self.embed2 = nn.Linear(lookback, n1), nn.Linear(n1, n2)
        self.dropout = nn.Dropout(dropout)
        along = 1 if channel_independent else None  # width of a token when the scan runs along the embedding
        self.level1 = nn.ModuleList([Mamba1Mixer(along or n1, **mamba), Mamba1Mixer(n1, **mamba)])
        self.level2 = nn.ModuleList([Mamba1Mixer(along or n2, **mamba), Mamba1Mixer(n2, **mamba)])
        self.up = nn.Linear(n2, n1)
        self.head = nn.Linear(2 * n1, horizon)

    def _pair(self, pair, e):
        """e (sequences, tokens, n): the two readings of the embedding, summed."""
        scan_along, whole = pair
        if self.channel_independent:       # e is (batch * variables, 1, n)
            return scan_along(e.transpose(1, 2)).transpose(1, 2) + whole(e)
        return scan_along(e) + whole(e)    # e is (batch, variables, n)

    def forward(self, x):
        batch, _, n_vars = x.shape
        series = self.revin.norm(x).transpose(1, 2)                         # (batch, variables, lookback)
        if self.channel_independent:
            series = series.reshape(batch * n_vars, 1, -1)
        e1 = self.embed1(series)
        d1 = self.dropout(e1)
        e2 = self.embed2(d1)
        level2 = self._pair(self.level2, self.dropout(e2)) + (e2 if self.residual else 0)
        level2 = self.up(level2) + (e1 if self.residual else 0)
        out = self.head(torch.cat([level2, self._pair(self.level1, d1)], dim=-1))
        return self.revin.denorm(out.reshape(batch, n_vars, -1).transpose(1, 2))
