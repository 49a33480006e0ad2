"""A sequential recommender over any backbone pattern: the model shape of SASRec (Kang & McAuley, ICDM 2018)
and Mamba4Rec (Liu et al., arXiv 2403.03900), which differ in the mixer of their blocks.

Item ids in (0 is padding, sequences right-padded), a score for every item out: the item embedding, with
learned position embeddings where `positions` (SASRec; Mamba4Rec has none, its scan orders the items), then
dropout and LayerNorm (Mamba4Rec's order); blocks x = norm(x + dropout(mixer(x))), x = norm(x + dropout(mlp(x)))
(post-norm, as Mamba4Rec's MambaLayer and FeedForward and RecBole's Transformer layer); the scores are the
last hidden state times the item embedding (tied, as both papers score items).

Where ours differs from the reference codes (chengkai-liu/Mamba4Rec mamba4rec.py; RecBole 1.2.1 sasrec.py):
- Mamba4Rec with one layer has no residual around its Mamba block (LayerNorm(dropout(mamba(x)))); the shared
  Backbone always adds it, as Mamba4Rec does for two layers or more.
- The feed-forward has one dropout, after its output projection; the references add one after the GELU too,
  and RecBole's attention one on the attention weights.
- LayerNorm eps is the shared layers' 1e-5 (the references: 1e-12).
"""
from __future__ import annotations

import torch
from torch import nn

from ..backbone import Backbone
from ..layers import build_norm
from ..layers.init import no_weight_decay
from ..layers.norms import LayerNorm, RMSNorm
from ..layers.weights import apply_init, register_init
from ..registry import Example, register_builder

PAD = 0


@register_init("recbole")
def _recbole(model, **_):
    """RecBole's `_init_weights`, which Mamba4Rec and SASRec (RecBole) apply to the whole model: every
    nn.Linear and nn.Embedding weight N(0, 0.02), every Linear bias 0 and norms 1 and 0. Applied after the
    Mamba block is built, as there, it redraws the block's projections too and zeroes the dt projection's bias
    (mamba_ssm marks it `_no_reinit`, which RecBole does not read), so dt starts at softplus(0) = 0.69; the
    convolution, A and D keep the mixer's initialisation."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, (nn.LayerNorm, LayerNorm, RMSNorm)):
            nn.init.ones_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def _example() -> Example:
    return Example(dict(n_items=30, max_len=8), dict(d_model=16),
                   lambda g: (torch.randint(1, 30, (2, 7), generator=g),))


@register_builder("sequential_recommender", example=_example)
class SequentialRecommender(nn.Module):
    """ids (batch, seqlen <= max_len) -> scores (batch, seqlen, n_items), or (batch, n_items) at `at` (batch,),
    one position per sequence.

    n_items: items counting the padding id 0. pattern, mixers: zoo.backbone's ('M' Mamba, '2' Mamba-2, 'A'
    attention). mlp, mlp_ratio: the position-wise feed-forward after each block. positions: learned position
    embeddings (SASRec). init: a scheme of zoo.layers.weights ('recbole': the references')."""

    def __init__(self, n_items: int, max_len: int, d_model: int = 64, pattern: str = "M",
                 mixers: dict | None = None, mlp: str | None = "gelu", mlp_ratio: float = 4.0,
                 norm: str = "layernorm", dropout: float = 0.2, positions: bool = False, init: str = "recbole"):
        super().__init__()
        if n_items < 2:
            raise ValueError(f"n_items must count the padding id 0 and at least one item, got {n_items}")
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        self.max_len = max_len
        self.embed = nn.Embedding(n_items, d_model, padding_idx=PAD)
        self.position = nn.Embedding(max_len, d_model) if positions else None
        self.dropout = nn.Dropout(dropout)
        self.norm = build_norm(norm, d_model)
        self.backbone = Backbone(d_model, pattern=pattern, mixers=mixers, mlp=mlp, mlp_ratio=mlp_ratio, norm=norm,
                                 dropout=dropout, final_norm=False, post_norm=True)
        apply_init(self, init, n_layer=len(pattern), n_residuals=2 if mlp else 1)
        no_weight_decay(self.embed.weight, *([self.position.weight] if positions else []))

    def forward(self, ids, at=None):
        if ids.shape[1] > self.max_len:
            raise ValueError(f"a sequence of {ids.shape[1]} items is longer than max_len={self.max_len}")
        x = self.embed(ids)
        if self.position is not None:
            x = x + self.position(torch.arange(ids.shape[1], device=ids.device))
        h = self.backbone(self.norm(self.dropout(x)))
        if at is not None:
            h = h[torch.arange(len(ids), device=ids.device), at]
        return h @ self.embed.weight.t()

    def state_size(self, seqlen: int | None = None) -> int:
        return self.backbone.state_size(seqlen)
