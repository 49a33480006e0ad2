"""DLinear (Zeng et al., *Are Transformers Effective for Time Series Forecasting?*, AAAI 2023): a moving
average splits each series into trend and remainder, and one linear map per part takes the look-back to
the horizon. The baseline that showed many forecasting Transformers lose to a linear model."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Example, register_builder


def moving_average(x, kernel: int):
    """x (batch, variables, length) averaged over `kernel` steps, the ends padded by repeating the end values,
    so the trend is as long as the series."""
    front, back = (kernel - 1) // 2, kernel // 2
    padded = torch.cat([x[..., :1].expand(-1, -1, front), x, x[..., -1:].expand(-1, -1, back)], dim=-1)
    return F.avg_pool1d(padded, kernel, stride=1)


def _example() -> Example:
    return Example(dict(lookback=48, horizon=24, n_vars=5), {}, lambda g: (torch.randn(2, 48, 5, generator=g),))


@register_builder("dlinear", example=_example)
class DLinear(nn.Module):
    """x (batch, lookback, variables) -> (batch, horizon, variables). `individual`: one pair of linear maps
    per variable instead of one shared by all."""

    def __init__(self, lookback: int, horizon: int, n_vars: int, kernel: int = 25, individual: bool = False):
        super().__init__()
        if kernel < 1:
            raise ValueError(f"kernel={kernel}: the moving average needs at least one step")
        self.kernel, self.individual = kernel, individual
        copies = n_vars if individual else 1
        self.seasonal = nn.ModuleList(nn.Linear(lookback, horizon) for _ in range(copies))
        self.trend = nn.ModuleList(nn.Linear(lookback, horizon) for _ in range(copies))

    def forward(self, x):
        x = x.transpose(1, 2)                                   # (batch, variables, lookback)
        trend = moving_average(x, self.kernel)
        seasonal = x - trend
        if self.individual:
            out = torch.stack([s(seasonal[:, i]) + t(trend[:, i])
                               for i, (s, t) in enumerate(zip(self.seasonal, self.trend))], dim=1)
        else:
            out = self.seasonal[0](seasonal) + self.trend[0](trend)
        return out.transpose(1, 2)
