"""A sequence classifier over any backbone pattern: the long-range benchmarks' model shape (LRA, S4, S4D).

Token 0 is padding. The backbone reads the padded batch with its mask (zoo.backbone), so a sequence's
prediction does not depend on how much padding its batch gave it; pooling then sees the real tokens only.
"""
from __future__ import annotations

import torch
from torch import nn

from ..backbone import Backbone
from ..layers.init import no_weight_decay
from ..layers.weights import apply_init
from ..registry import Example, register_builder

PAD = 0
POOLS = ("mean", "last")


def _example() -> Example:
    return Example(dict(vocab_size=16, n_classes=3), dict(d_model=16),
                   lambda g: (torch.randint(1, 16, (2, 20), generator=g),))


@register_builder("sequence_classifier", example=_example)
class SequenceClassifier(nn.Module):
    """ids (batch, seqlen), PAD after each sequence's last token -> logits (batch, n_classes).

    pool: 'mean' over the real tokens (the bidirectional models of the LRA papers), or 'last', the last real
    token (a causal model, whose last output is the only one that has read the whole sequence).
    directions, merge, share_params: zoo.backbone's ('bidirectional' reads each block's sequence both ways).
    init: a scheme of zoo.layers.weights."""

    def __init__(self, vocab_size: int, n_classes: int, d_model: int = 64, pattern: str = "MM",
                 mixers: dict | None = None, mlp: str | None = None, mlp_ratio: float = 8 / 3,
                 norm: str = "rmsnorm", dropout: float = 0.0, directions: str = "forward", merge: str = "sum",
                 share_params: bool = False, pool: str = "mean", init: str = "mamba"):
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"vocab_size must count the padding token 0 and at least one more, got {vocab_size}")
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r} is not one of {', '.join(POOLS)}")
        self.pool = pool
        self.embed = nn.Embedding(vocab_size, d_model)
        self.backbone = Backbone(d_model, pattern=pattern, mixers=mixers, mlp=mlp, mlp_ratio=mlp_ratio, norm=norm,
                                 dropout=dropout, directions=directions, share_params=share_params, merge=merge)
        self.head = nn.Linear(d_model, n_classes)
        apply_init(self, init, n_layer=len(pattern))  # as zoo.language.lm applies it
        no_weight_decay(self.embed.weight)

    def forward(self, ids):
        mask = ids != PAD
        # an unpadded batch takes the backbone's plain path (the fused kernels without a mask)
        h = self.backbone(self.embed(ids), mask=None if bool(mask.all()) else mask)
        if self.pool == "mean":
            weights = mask.to(h.dtype)[..., None]
            pooled = (h * weights).sum(1) / weights.sum(1).clamp_min(1)
        else:
            last = (mask.sum(1) - 1).clamp_min(0)
            pooled = h[torch.arange(len(ids), device=ids.device), last]
        return self.head(pooled)

    def state_size(self, seqlen: int | None = None) -> int:
        return self.backbone.state_size(seqlen)
