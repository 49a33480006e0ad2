"""RMSNorm, LayerNorm and the gated RMSNorm of Mamba-2, all computed in float32 or wider."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _wide(x):
    # float64 stays float64 (the tests' precision); half precision is normalised in float32
    return x if x.dtype == torch.float64 else x.float()


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = _wide(x)
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.to(y.dtype)).to(x.dtype)


class LayerNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        xf = _wide(x)
        y = F.layer_norm(xf, xf.shape[-1:], self.weight.to(xf.dtype), self.bias.to(xf.dtype), self.eps)
        return y.to(x.dtype)


class GatedRMSNorm(nn.Module):
    """rmsnorm(y * silu(z)) * weight, normalised within groups of `group_size` channels.

    Mamba-2 normalises per group of heads so that the result does not depend on how
    the heads are split across devices; group_size=None normalises all channels together.
    """

    def __init__(self, d: int, group_size: int | None = None, eps: float = 1e-5):
        super().__init__()
        group_size = d if group_size is None else group_size
        if d % group_size:
            raise ValueError(f"GatedRMSNorm: d={d} is not divisible by group_size={group_size}")
        self.group_size, self.eps = group_size, eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, y, z):
        yf = _wide(y)
        g = yf * F.silu(z.to(yf.dtype))
        grouped = g.unflatten(-1, (-1, self.group_size))
        g = (grouped * torch.rsqrt(grouped.pow(2).mean(-1, keepdim=True) + self.eps)).flatten(-2)
        return (g * self.weight.to(g.dtype)).to(y.dtype)


NORMS = {"rmsnorm": RMSNorm, "layernorm": LayerNorm}


def build_norm(name: str, d: int) -> nn.Module:
    if name not in NORMS:
        raise ValueError(f"unknown norm {name!r}; choose one of {', '.join(NORMS)}")
    return NORMS[name](d)
