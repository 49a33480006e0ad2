"""The next-item kind (`data.task=movielens`): each user's items in time order in, a score for every item out,
scored by HR, NDCG and MRR at 10 over the full item set (tasks/recommendation/ranking.py).

MovieLens-100K from the RecBole wheel by default; `data.path=<folder>` reads a GroupLens `ratings.dat` there
(ML-1M, the papers' set). Throughput counts trained interactions (targets).
"""
from __future__ import annotations

import torch

from ..kinds import Built, Kind, Planned, register_kind
from .data import NextItemData
from .movielens import RECBOLE, interactions, missing
from .sequences import PAD, leave_one_out, user_sequences
from .task import NextItemTask

# path: a folder with ratings.dat (None: ML-100K); max_len: items a model reads (RecBole's default, 50; Mamba4Rec
# reads 200 on ML-1M); min_interactions: the users' and items' filter (Mamba4Rec: 5)
DEFAULTS = dict(path=None, max_len=50, min_interactions=5, batch_size=32, eval_batch_size=256)
# items of the releases before filtering: a plan's upper bound where the data is not here to count
RELEASE_ITEMS = {"ml-100k": 1682, "ml-1m": 3706}


def task_name(data: dict) -> str:
    return "ml100k" if data["path"] is None else "ml1m"


def _dataset(data: dict) -> tuple[str, str]:
    if data["path"] is None:
        return "ml-100k", f"MovieLens-100K (GroupLens), the copy in the {RECBOLE} wheel"
    return "ml-1m", f"GroupLens ratings.dat in {data['path']}"


def build(cfg, data: dict, make_model) -> Built:
    split = leave_one_out(*interactions(data["path"], cfg.data_root), max_len=data["max_len"],
                          least=data["min_interactions"])
    name, source = _dataset(data)
    settings = {k: data[k] for k in ("path", "max_len", "min_interactions")}
    loaded = NextItemData(split, name, source, data["batch_size"], data["eval_batch_size"], settings,
                          shuffle_seed=cfg.seed)
    io = dict(n_items=split.n_items, max_len=data["max_len"])
    directions = {"hr": "max", "ndcg": "max", "mrr": "max", "loss": "min"}
    return Built(data=loaded, task=NextItemTask(make_model(**io), cfg), name=task_name(data), io=io,
                 primary="test/ndcg@10", directions=directions, unit="interactions",
                 count=lambda batch: int((batch[1] != PAD).sum()), input_length=data["max_len"])


def plan(data: dict, cache: str) -> Planned:
    """Shapes without building the splits: the items counted from the converted copy where it is here, else the
    release's item count before filtering (an upper bound). A training window holds at most max_len targets."""
    max_len = data["max_len"]
    if not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"data.max_len={max_len!r}: give an integer of at least 2")
    line = missing(data["path"], cache)
    if line is None:  # converted once if it was not (ML-100K: under a second), then counted
        _, n_items = user_sequences(*interactions(data["path"], cache), data["min_interactions"])
    else:
        n_items = RELEASE_ITEMS[_dataset(data)[0]] + 1
    io = dict(n_items=n_items, max_len=max_len)
    return Planned(io, "interactions", max_len,
                   lambda n: (torch.zeros(n, max_len, dtype=torch.long, device="meta"),), missing=line)


KIND = register_kind(Kind("next_item", ("movielens",), DEFAULTS, build, task_name, plan=plan))
