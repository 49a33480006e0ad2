"""Reversible instance normalisation (RevIN, Kim et al., ICLR 2022): each series of a window is scaled to
zero mean and unit variance over its look-back, and the forecast is scaled back, so a model sees the
shape of a window and not its level (the distribution shift between the ETT splits is large)."""
from __future__ import annotations

import torch
from torch import nn


class RevIN(nn.Module):
    """norm(x (batch, lookback, variables)) -> normalised x; denorm(y (batch, horizon, variables)) undoes it
    with the statistics of the last norm call. `affine` adds a learned scale and shift per variable."""

    def __init__(self, n_vars: int, affine: bool = False, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_vars)) if affine else None
        self.bias = nn.Parameter(torch.zeros(n_vars)) if affine else None

    def norm(self, x):
        self._mean = x.mean(1, keepdim=True).detach()
        self._std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + self.eps).detach()
        x = (x - self._mean) / self._std
        return x * self.weight + self.bias if self.weight is not None else x

    def denorm(self, y):
        if self.weight is not None:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * self._std + self._mean


class NoNorm(nn.Module):
    def norm(self, x):
        return x

    def denorm(self, y):
        return y


def instance_norm(enabled: bool, n_vars: int, affine: bool = False) -> nn.Module:
    return RevIN(n_vars, affine) if enabled else NoNorm()
