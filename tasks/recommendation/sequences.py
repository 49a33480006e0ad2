"""Interactions -> each user's items in time order, filtered and split leave-one-out, as RecBole prepares
sequential data for Mamba4Rec (Liu et al. 2024, arXiv 2403.03900) and SASRec (Kang & McAuley 2018).

Read in RecBole 1.2.1 (its wheel: recbole/data/dataset/dataset.py, sequential_dataset.py, interaction.py,
properties/quick_start_config/sequential.yaml) and Mamba4Rec's config.yaml:
- filtering: users and items with fewer than 5 interactions are dropped (`user_inter_num_interval` and
  `item_inter_num_interval` "[5,inf)"), repeated until none is left (a dropped item can leave a user short);
- ids: items renumbered 1..n in order of first appearance in the filtered file, as RecBole's `_remap` (pandas
  factorize) numbers them (0 is the padding);
- order: by user, then timestamp, with a stable sort (np.argsort kind="stable" in RecBole's Interaction.sort),
  so interactions with one timestamp keep the file's order;
- split (`LS: valid_and_test`, `order: TO`): each user's last item is the test target, the one before it the
  validation target, everything before them the training sequence.

Training differs in form: RecBole makes one example per prefix of the training sequence (the item after it as
target, the prefix cut to its last `max_len` items); we cut each training sequence into windows of `max_len`
inputs that predict the next item at every position, so one pass costs one forward per window rather than one per
target. Each target is trained once. A sequence longer than a window is covered by windows whose first
`max_len // 2` positions are context only (no loss), so every target but those of the first window sees at
least that many items before it (RecBole: up to `max_len`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD = 0


@dataclass
class Split:
    """The data of one run. `train`: (inputs, targets) int64 (windows, max_len), target 0 where nothing is
    trained. `val` and `test`: (histories (users, max_len) right-padded with 0, lengths (users,), targets
    (users,)). `n_items` counts the padding id 0."""
    train: tuple
    val: tuple
    test: tuple
    n_items: int
    n_users: int
    n_interactions: int


def filter_counts(users: np.ndarray, items: np.ndarray, least: int) -> np.ndarray:
    """A boolean mask of the interactions kept once every user and every item has at least `least` of them,
    dropping the short ones repeatedly as RecBole's `_filter_by_inter_num` does."""
    keep = np.ones(len(users), dtype=bool)
    while True:
        short = np.zeros(len(users), dtype=bool)
        for ids in (users, items):
            values, counts = np.unique(ids[keep], return_counts=True)
            short |= np.isin(ids, values[counts < least]) & keep
        if not short.any():
            return keep
        keep &= ~short


def user_sequences(users, items, timestamps, least: int = 5) -> tuple[list[np.ndarray], int]:
    """Each kept user's items (renumbered 1..n) in time order, ties in the file's order, users by id; and n + 1."""
    if not isinstance(least, int) or least < 3:
        raise ValueError(f"data.min_interactions={least!r}: give an integer of at least 3 (a training item, "
                         f"a validation item and a test item per user)")
    keep = filter_counts(users, items, least)
    users, items, timestamps = users[keep], items[keep], timestamps[keep]
    if not len(users):
        raise ValueError(f"data.min_interactions={least}: no user and item are left with that many interactions")
    _, first = np.unique(items, return_index=True)
    ids = np.empty(items.max() + 1, dtype=np.int64)
    ids[items[np.sort(first)]] = np.arange(1, len(first) + 1)  # by first appearance in the file, as pd.factorize
    order = np.lexsort((timestamps, users))  # np.lexsort is stable: equal (user, timestamp) keep the file's order
    users, items = users[order], items[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    return np.split(ids[items], starts[1:]), len(first) + 1


def windows(sequence: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """A training sequence -> (inputs, targets) (w, max_len): position j of a window predicts the item after it;
    targets already trained by an earlier window are 0 (context only). See the module's docstring."""
    n = len(sequence)
    if n < 2:
        return np.zeros((0, max_len), np.int64), np.zeros((0, max_len), np.int64)
    inputs, targets = [], []
    context = max_len // 2
    covered = 0  # targets 1..covered are trained
    while covered < n - 1:
        end = min(n - 1, covered + max_len - context) if covered else min(n - 1, max_len)  # last target index
        start = max(0, end - max_len)  # the window's inputs are sequence[start:end]
        x = np.zeros(max_len, np.int64)
        y = np.zeros(max_len, np.int64)
        x[:end - start] = sequence[start:end]
        y[:end - start] = sequence[start + 1:end + 1]
        y[:max(0, covered - start)] = PAD  # targets before covered + 1 were trained already
        inputs.append(x), targets.append(y)
        covered = end
    return np.stack(inputs), np.stack(targets)


def history(sequence: np.ndarray, max_len: int) -> tuple[np.ndarray, int]:
    """The last max_len items, right-padded, and how many are real."""
    tail = sequence[-max_len:]
    x = np.zeros(max_len, np.int64)
    x[:len(tail)] = tail
    return x, len(tail)


def leave_one_out(users, items, timestamps, max_len: int = 50, least: int = 5) -> Split:
    if not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"data.max_len={max_len!r}: give an integer of at least 2")
    sequences, n_items = user_sequences(users, items, timestamps, least)
    train_x, train_y, evals = [], [], {"val": ([], [], []), "test": ([], [], [])}
    for seq in sequences:
        x, y = windows(seq[:-2], max_len)
        train_x.append(x), train_y.append(y)
        for split, cut in (("val", len(seq) - 2), ("test", len(seq) - 1)):
            h, length = history(seq[:cut], max_len)
            for column, value in zip(evals[split], (h, length, seq[cut])):
                column.append(value)
    stacked = {s: (np.stack(h), np.array(n, np.int64), np.array(t, np.int64)) for s, (h, n, t) in evals.items()}
    return Split((np.concatenate(train_x), np.concatenate(train_y)), stacked["val"], stacked["test"], n_items,
                 len(sequences), int(sum(len(s) for s in sequences)))
