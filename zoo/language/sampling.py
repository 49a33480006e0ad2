"""The next token from a model's logits: greedy, or sampled with temperature, top-k and top-p (nucleus)."""
from __future__ import annotations

import math

import torch


def check_sampling(temperature: float, top_k: int | None, top_p: float | None):
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature={temperature!r}: give a finite number >= 0 (0: greedy)")
    if top_k is not None and not (isinstance(top_k, int) and top_k >= 1):
        raise ValueError(f"top_k={top_k!r}: give a positive integer, or none")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"top_p={top_p!r}: give a number in (0, 1], or none")


def next_token(logits, temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
               generator: torch.Generator | None = None):
    """logits (batch, vocab) -> ids (batch,). temperature 0 is the argmax; otherwise one draw from the softmax
    of logits / temperature, kept to the top_k most likely tokens and to the fewest most likely tokens whose
    probability reaches top_p (the most likely one always stays)."""
    check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    # from the row's maximum: a tiny temperature then sends the others to -inf, not the maximum to inf
    logits = (logits - logits.max(-1, keepdim=True).values) / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    if top_p is not None and top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        probs = ordered.softmax(-1)
        beyond = probs.cumsum(-1) - probs >= top_p  # the mass before this token already reaches top_p
        logits = logits.scatter(-1, order, ordered.masked_fill(beyond, -math.inf))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
