"""How a block combines the outputs of its scan directions, once each is back in the natural token order."""
from __future__ import annotations

import torch
from torch import nn

MERGES = ("sum", "mean", "concat", "gate", "biattn")
POOLED = ("gate", "biattn")  # these pool over the tokens, so over padding too


def check_merge(merge: str):
    if merge not in MERGES:
        raise ValueError(f"merge={merge!r} is not one of {', '.join(MERGES)}")


class DirectionMerge(nn.Module):
    """(batch, K, seqlen, dim) direction outputs -> (batch, seqlen, dim).

    sum / mean; concat: the K outputs side by side, projected back to dim (starting as the mean);
    gate: per-channel softmax weights over the directions, from the block input pooled over the tokens
    through a dim/4 bottleneck (the squeeze-excitation shape of LocalMamba's channel attention), starting
    equal; biattn: LocalMamba's channel attention, each direction's output scaled by a sigmoid gate computed
    from that output pooled over the tokens, by one module for all directions (LayerNorm, dim -> dim/8,
    GELU, dim/8 -> dim), then summed.
    """

    def __init__(self, merge: str, n: int, dim: int):
        super().__init__()
        check_merge(merge)
        self.merge, self.n = merge, n
        self.proj = self.gate = None
        if merge == "concat" and n > 1:
            self.proj = nn.Linear(n * dim, dim, bias=False)
            with torch.no_grad():
                self.proj.weight.copy_(torch.eye(dim).repeat(1, n) / n)
        if merge == "gate" and n > 1:
            self.gate = nn.Sequential(nn.Linear(dim, max(dim // 4, 1)), nn.SiLU(), nn.Linear(max(dim // 4, 1), n * dim))
            nn.init.zeros_(self.gate[2].weight)
            nn.init.zeros_(self.gate[2].bias)
        if merge == "biattn":
            hidden = max(dim // 8, 1)
            self.gate = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim),
                                      nn.Sigmoid())

    def forward(self, ys, x=None):
        """ys: (batch, K, seqlen, dim); x: (batch, seqlen, dim), what the directions read (for `gate`)."""
        if self.merge == "biattn":
            return (ys * self.gate(ys.mean(2, keepdim=True))).sum(1)
        if self.n == 1:
            return ys[:, 0]
        if self.merge in ("sum", "mean"):
            return ys.sum(1) if self.merge == "sum" else ys.mean(1)
        if self.merge == "concat":
            return self.proj(ys.permute(0, 2, 1, 3).flatten(2))
        weights = self.gate(x.mean(1)).view(x.shape[0], self.n, 1, -1).softmax(dim=1)
        return (weights.to(ys.dtype) * ys).sum(1)
