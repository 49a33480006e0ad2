"""Full-ranking metrics of next-item prediction: each user's target ranked against every item.

As RecBole's full-sort evaluation scores sequential models (recbole/trainer/trainer.py `_full_sort_batch_eval`,
read in the 1.2.1 wheel): the padding id 0 is never ranked, and the items a user has already seen are NOT taken
out (its FullSortEvalDataLoader gives sequential models no history to mask). With the target's 0-based `rank`:
HR@k = [rank < k], NDCG@k = [rank < k] / log2(rank + 2) (one relevant item, so the ideal DCG is 1), MRR@k =
[rank < k] / (rank + 1); each a mean over users. RecBole takes the top k with torch.topk, whose order among
equal scores is unspecified; here an item scoring the same as the target counts as ranked above it, so a model
that scores everything alike gets 0, not 1.
"""
from __future__ import annotations

import torch

K = 10  # Mamba4Rec's `topk: [10]`
METRICS = ("hr", "ndcg", "mrr")


def ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """scores (users, n_items), column 0 the padding; targets (users,) -> the target's 0-based rank among items
    1..n_items-1 (ties ranked ahead of the target; a target scored NaN is ranked after every item)."""
    real = scores[:, 1:]
    own = scores.gather(1, targets[:, None])
    rank = (real >= own).sum(1) - 1  # the target itself is one of those >= its score
    return torch.where(own[:, 0].isnan(), torch.full_like(rank, real.shape[1]), rank)


def at_k(rank: torch.Tensor, k: int = K) -> dict[str, torch.Tensor]:
    """Per user: {"hr", "ndcg", "mrr"} at k, float."""
    inside = (rank < k).to(torch.float64)
    rank = rank.to(torch.float64)
    return {"hr": inside, "ndcg": inside / torch.log2(rank + 2), "mrr": inside / (rank + 1)}
