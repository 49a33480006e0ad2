"""Feed-forward blocks: SwiGLU (Transformer++ and the hybrids) and the GELU MLP of the Transformer encoders
(iTransformer, PatchTST and the forecasters built like them)."""
from __future__ import annotations

import math

import torch.nn as nn
import torch.nn.functional as F


def hidden_size(d_model: int, mlp_ratio: float = 8 / 3, multiple_of: int = 8) -> int:
    """mlp_ratio * d_model rounded up to a multiple of `multiple_of` (8/3 keeps a SwiGLU's
    parameter count that of a 4x GELU MLP)."""
    return multiple_of * math.ceil(mlp_ratio * d_model / multiple_of)


class SwiGLU(nn.Module):
    """out = W_out(silu(W_gate x) * W_up x)."""

    def __init__(self, d_model: int, mlp_ratio: float = 8 / 3, hidden: int | None = None, multiple_of: int = 8,
                 bias: bool = False):
        super().__init__()
        self.hidden = hidden_size(d_model, mlp_ratio, multiple_of) if hidden is None else hidden
        self.w_in = nn.Linear(d_model, 2 * self.hidden, bias=bias)
        self.w_out = nn.Linear(self.hidden, d_model, bias=bias)

    def forward(self, x):
        gate, up = self.w_in(x).chunk(2, dim=-1)
        return self.w_out(F.silu(gate) * up)


class GeluMLP(nn.Module):
    """out = W_out(gelu(W_in x)), with biases, as in the Transformer encoder."""

    def __init__(self, d_model: int, mlp_ratio: float = 4.0, hidden: int | None = None, multiple_of: int = 8,
                 bias: bool = True):
        super().__init__()
        self.hidden = hidden_size(d_model, mlp_ratio, multiple_of) if hidden is None else hidden
        self.w_in = nn.Linear(d_model, self.hidden, bias=bias)
        self.w_out = nn.Linear(self.hidden, d_model, bias=bias)

    def forward(self, x):
        return self.w_out(F.gelu(self.w_in(x)))


MLPS = {"swiglu": SwiGLU, "gelu": GeluMLP}
