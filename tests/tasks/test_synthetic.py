"""Synthetic language tasks: shapes, scored positions, hand-written solvers, token ranges, determinism, bad settings."""
from __future__ import annotations

import pytest
import torch

from tasks.language import IGNORE_INDEX, TASKS, induction_heads, mqar, selective_copying


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# Small settings per task, and the total length and number of scored positions per row they give.
SMALL = {
    "selective_copying": (dict(n=32, seq_len=50, num_tokens=6, vocab_size=10), 50 + 2 * 6, 6),
    "induction_heads": (dict(n=32, seq_len=40, vocab_size=8), 41, 1),
    "mqar": (dict(n=32, seq_len=64, num_kv_pairs=8, vocab_size=128), 64, 8),
}


def make(task: str, seed: int = 0, **overrides):
    settings = {**SMALL[task][0], **overrides}
    return TASKS[task](generator=gen(seed), **settings)


# ------------------------------------------------------------------------------------ generic


@pytest.mark.parametrize("task", sorted(SMALL))
def test_shapes_dtypes_and_number_of_scored_positions(task):
    settings, total, scored = SMALL[task]
    x, y = make(task)
    assert x.shape == y.shape == (settings["n"], total)
    assert x.dtype == y.dtype == torch.long
    assert ((y != IGNORE_INDEX).sum(dim=1) == scored).all()
    assert ((y == IGNORE_INDEX) | (y >= 0)).all()  # nothing but -100 or a token id
    assert x.min() >= 0 and x.max() < settings["vocab_size"] and y.max() < settings["vocab_size"]


@pytest.mark.parametrize("task", sorted(SMALL))
def test_same_seed_same_tensors_other_seed_other_tensors(task):
    x1, y1 = make(task, seed=3)
    x2, y2 = make(task, seed=3)
    x3, y3 = make(task, seed=4)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert not torch.equal(y1, y3)


# -------------------------------------------------------------------------- selective copying


def copy_solver(x, seq_len, num_tokens, vocab_size):
    """The non-noise tokens before the markers, in order."""
    region = x[: seq_len + num_tokens]
    assert (x[seq_len + num_tokens:] == vocab_size - 1).all()
    return region[region != 0]


@pytest.mark.parametrize("variable", [True, False])
def test_selective_copying_is_solved_by_copying_the_data_tokens_in_order(variable):
    L, M, V = 50, 6, 10
    x, y = selective_copying(64, L, M, V, gen(1), variable=variable)
    assert (y[:, : L + M] == IGNORE_INDEX).all()
    for row_x, row_y in zip(x, y):
        answer = copy_solver(row_x, L, M, V)
        assert torch.equal(answer, row_y[L + M:])
        assert (row_y[L + M:] >= 1).all() and (row_y[L + M:] <= V - 2).all()  # data ids only
    data_at = (x[:, : L + M] != 0)
    assert (data_at.sum(dim=1) == M).all()
    if variable:
        # spread over the whole region, not front-loaded
        assert not data_at[:, :M].all()
        assert data_at[:, M:].any()
    else:
        assert data_at[:, :M].all()  # the classic copying task: data first


def test_selective_copying_published_setting_allows_more_tokens_than_data_ids():
    # Mamba paper: 16 tokens to copy with vocab 16 (14 data ids), so draws repeat
    x, y = selective_copying(4, 4096, 16, 16, gen(2))
    assert x.shape == (4, 4096 + 32)
    assert set(torch.unique(x).tolist()) <= set(range(16))
    assert (x[:, -16:] == 15).all() and (y[:, -16:] <= 14).all() and (y[:, -16:] >= 1).all()


# ---------------------------------------------------------------------------- induction heads


def induction_solver(x, vocab_size):
    trigger = vocab_size - 1
    where = (x == trigger).nonzero().flatten()
    assert len(where) == 2 and where[1] == len(x) - 1  # once inside, once as the last token
    return x[where[0] + 1]


def test_induction_heads_is_solved_by_the_token_after_the_first_trigger():
    T, V = 40, 8
    x, y = induction_heads(200, T, V, gen(5))
    assert (y[:, :T] == IGNORE_INDEX).all()
    for row_x, row_y in zip(x, y):
        assert row_y[T] == induction_solver(row_x, V)
    trigger = V - 1
    first = (x[:, :T] == trigger).float().argmax(dim=1)
    assert first.max() <= T - 3  # safari: position drawn from [0, T - 2)
    ordinary = x[x != trigger]
    assert ordinary.min() >= 1 and ordinary.max() <= V - 2  # id 0 reserved, never used
    assert (y[:, T] >= 1).all() and (y[:, T] <= V - 2).all()


def test_induction_heads_long_test_length():
    x, y = induction_heads(2, 2 ** 14, 16, gen(6))
    assert x.shape == (2, 2 ** 14 + 1)
    for row_x, row_y in zip(x, y):
        assert row_y[-1] == induction_solver(row_x, 16)


# -------------------------------------------------------------------------------------- MQAR


def mqar_solver(x, num_kv_pairs):
    """For each scored position, look the key up among the first 2K tokens and return its value."""
    context = x[: 2 * num_kv_pairs]
    table = dict(zip(context[0::2].tolist(), context[1::2].tolist()))
    assert len(table) == num_kv_pairs  # keys are distinct
    return table


@pytest.mark.parametrize("random_non_queries", [True, False])
def test_mqar_is_solved_by_looking_the_key_up(random_non_queries):
    T, K, V = 64, 8, 128
    x, y = mqar(100, T, K, V, gen(7), random_non_queries=random_non_queries)
    for row_x, row_y in zip(x, y):
        table = mqar_solver(row_x, K)
        scored = (row_y != IGNORE_INDEX).nonzero().flatten()
        assert len(scored) == K
        assert (scored >= 2 * K).all() and ((scored - 2 * K) % 2 == 0).all()  # even offsets after the pairs
        queried = row_x[scored].tolist()
        assert sorted(queried) == sorted(table)  # every key queried exactly once
        assert [table[k] for k in queried] == row_y[scored].tolist()
        if not random_non_queries:
            rest = torch.ones(T, dtype=torch.bool)
            rest[: 2 * K] = False
            rest[scored] = False
            assert (row_x[rest] == 0).all()


def test_mqar_token_ranges():
    T, K, V = 64, 8, 128
    x, _ = mqar(100, T, K, V, gen(8), random_non_queries=False)
    keys, values = x[:, 0: 2 * K: 2], x[:, 1: 2 * K: 2]
    assert keys.min() >= 1 and keys.max() < V // 2
    assert values.min() >= V // 2 and values.max() < V
    assert all(len(set(r.tolist())) == K for r in keys) and all(len(set(r.tolist())) == K for r in values)
    x, _ = mqar(200, T, K, V, gen(8), random_non_queries=True)
    filler = x[:, 2 * K:]
    assert filler.min() >= 0 and filler.max() < V
    assert (filler >= V // 2).any()  # random fillers come from the whole vocabulary, values included


def test_mqar_power_law_puts_queries_near_the_pairs():
    T, K, V = 256, 16, 512

    def mean_offset(power_a):
        _, y = mqar(400, T, K, V, gen(9), power_a=power_a, random_non_queries=False)
        return (y != IGNORE_INDEX).nonzero()[:, 1].float().mean().item()

    near, uniform = mean_offset(0.01), mean_offset(1.0)
    assert near < uniform - 20  # uniform gaps average ~ 2K + (T - 2K)/2 = 144; the power law is far lower
    assert abs(uniform - (2 * K + (T - 2 * K) / 2)) < 8


def test_mqar_smallest_valid_length_fills_every_even_slot():
    K = 8
    x, y = mqar(20, 4 * K, K, 64, gen(10))
    assert ((y[:, 2 * K::2]) != IGNORE_INDEX).all() and (y[:, 2 * K + 1::2] == IGNORE_INDEX).all()


# -------------------------------------------------------------------------------- bad settings


BAD = [
    ("selective_copying", dict(n=0), "n=0"),
    ("selective_copying", dict(vocab_size=2), "vocab_size=2"),
    ("selective_copying", dict(seq_len=0), "seq_len=0"),
    ("selective_copying", dict(num_tokens=0), "num_tokens=0"),
    ("selective_copying", dict(num_tokens=2.5), "num_tokens=2.5"),
    ("induction_heads", dict(n=-1), "n=-1"),
    ("induction_heads", dict(seq_len=2), "seq_len=2"),
    ("induction_heads", dict(vocab_size=2), "vocab_size=2"),
    ("mqar", dict(n=0), "n=0"),
    ("mqar", dict(seq_len=31, num_kv_pairs=8), "seq_len=31"),
    ("mqar", dict(num_kv_pairs=0), "num_kv_pairs=0"),
    ("mqar", dict(vocab_size=17, num_kv_pairs=8), "vocab_size=17"),
    ("mqar", dict(power_a=0.0), "power_a=0.0"),
    ("mqar", dict(power_a=float("nan")), "power_a=nan"),
]


@pytest.mark.parametrize("task,override,named", BAD, ids=[f"{t}-{n}" for t, _, n in BAD])
def test_bad_setting_raises_one_line_naming_it(task, override, named):
    with pytest.raises(ValueError) as info:
        make(task, **override)
    message = str(info.value)
    assert message.startswith(f"{task}: {named} ")
    assert "\n" not in message and "must be" in message and "; " in message  # setting, constraint; fix


def test_mqar_limits_are_exact():
    mqar(2, 32, 8, 18, gen())  # seq_len == 4K and vocab_size == 2K + 2 are allowed
    with pytest.raises(ValueError, match="lower num_kv_pairs to 7"):
        mqar(2, 31, 8, 18, gen())
