"""A causal language model over any backbone pattern, with recurrent generation."""
from __future__ import annotations

import torch
from torch import nn

from ..backbone import Backbone
from ..layers.init import no_weight_decay
from ..layers.weights import apply_init
from ..registry import Example, register_builder
from .sampling import check_sampling, next_token


def _example() -> Example:
    return Example(dict(vocab_size=12), dict(d_model=16), lambda g: (torch.randint(0, 12, (2, 9), generator=g),))


@register_builder("language_model", revision=2, example=_example)
class LanguageModel(nn.Module):
    """ids (batch, seqlen) -> logits (batch, seqlen, vocab_size). `pattern` picks the mixer of each
    block (see zoo.backbone); `mixers` holds per-kind settings, e.g. {"mamba1": {"d_state": 16}}.

    init: a scheme of zoo.layers.weights; 'mamba' is mamba_ssm's (embedding N(0, 0.02), each residual
    output projection divided by sqrt(blocks)), the rules the Mamba papers' models and their Transformer++
    baseline were trained from. mamba_ssm's LM applies its rule twice, the second time with one residual
    branch per block, so a block with an MLP is also divided by sqrt(blocks), not sqrt(2 x blocks). The embedding (tied to the head) takes no weight decay, as in
    the authors' parameter groups."""

    def __init__(self, vocab_size: int, d_model: int = 64, pattern: str = "MM", mixers: dict | None = None,
                 mlp: str | None = None, mlp_ratio: float = 8 / 3, norm: str = "rmsnorm", dropout: float = 0.0,
                 tie_embeddings: bool = True, shared: str = "", init: str = "mamba"):
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
        self.embed = nn.Embedding(vocab_size, d_model)
        self.backbone = Backbone(d_model, pattern=pattern, mixers=mixers, mlp=mlp, mlp_ratio=mlp_ratio, norm=norm,
                                 dropout=dropout, shared=shared)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        if tie_embeddings:
            self.head.weight = self.embed.weight
        apply_init(self, init, n_layer=len(pattern))
        no_weight_decay(self.embed.weight)

    def forward(self, ids):
        return self.head(self.backbone(self.embed(ids)))

    def state_size(self, seqlen: int | None = None) -> int:
        return self.backbone.state_size(seqlen)

    @torch.no_grad()
    def generate(self, ids, max_new_tokens: int, temperature: float = 0.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None):
        """`ids` (batch, prompt_len) continued by `max_new_tokens` tokens (zoo.language.sampling: greedy at
        temperature 0). The prompt is read in one parallel pass that leaves every block's decoding state
        (the scans' last state, attention's KV cache); then one recurrent step per new token, O(1) per token
        for the SSM mixers."""
        check_sampling(temperature, top_k, top_p)
        h, state = self.backbone.prefill(self.embed(ids))
        logits, out = self.head(h[:, -1]), [ids]
        for i in range(max_new_tokens):
            token = next_token(logits, temperature, top_k, top_p, generator)
            out.append(token[:, None])
            if i + 1 < max_new_tokens:
                h, state = self.backbone.step(self.embed(token), state)
                logits = self.head(h)
        return torch.cat(out, dim=1)
