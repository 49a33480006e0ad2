"""ListOps (Nangia & Bowman 2018; LRA's long version, Tay et al. 2021), generated here from its description.

An example is one nested expression over the digits 0-9, written with its brackets, e.g.
`[MAX 2 9 [MIN 4 7 ] 0 ]`; the label is its value, a digit. The operators are MAX, MIN, MED (the median; of
an even count, the mean of the middle two rounded down) and SM (the sum modulo 10). At each node, while the
bracket nesting is below `max_depth`, an operator is drawn with probability `op_prob` (LRA: 0.25), taking 2 to
`max_args` arguments (LRA: 10); otherwise a digit. Expressions whose token count falls outside
[min_length, max_length] are drawn again; min_length defaults to a quarter of max_length, LRA's ratio (it keeps
500 to 2,000 tokens), so one setting names a length.

Every bracket is a token, as are the operators with their opening bracket ("[MAX"): an early LRA input
pipeline stripped the brackets, which leaves the nesting, and so the answer, undefined.
"""
from __future__ import annotations

import random

import numpy as np

PAD = 0
DIGITS = tuple(str(d) for d in range(10))
OPERATORS = ("[MAX", "[MIN", "[MED", "[SM")
CLOSE = "]"
VOCAB = ("<pad>", *DIGITS, *OPERATORS, CLOSE)
IDS = {token: i for i, token in enumerate(VOCAB)}


def _median(values):
    return int(np.median(values))  # np.median averages the middle two; int() rounds that down (all >= 0)


APPLY = {"[MAX": max, "[MIN": min, "[MED": _median, "[SM": lambda values: sum(values) % 10}


class _TooLong(Exception):
    pass


def _expression(rng: random.Random, depth: int, max_depth: int, max_args: int, op_prob: float, max_length: int,
                out: list) -> int:
    """Append one expression's token ids to `out` and return its value; _TooLong as soon as `out` passes
    max_length, so an expression that cannot be kept costs no more than the tokens it has written."""
    if depth < max_depth and rng.random() < op_prob:
        op = OPERATORS[rng.randrange(len(OPERATORS))]
        out.append(IDS[op])
        values = [_expression(rng, depth + 1, max_depth, max_args, op_prob, max_length, out)
                  for _ in range(rng.randint(2, max_args))]
        out.append(IDS[CLOSE])
        value = APPLY[op](values)
    else:
        value = rng.randrange(10)
        out.append(IDS[DIGITS[value]])
    if len(out) > max_length:
        raise _TooLong
    return value


def generate(n: int, seed: int, min_length: int | None = None, max_length: int = 512, max_depth: int = 10,
             max_args: int = 10, op_prob: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """`n` expressions as token ids (n, max_length), PAD after each one's end, and their values (n,)."""
    min_length = shortest(min_length, max_length)
    check(min_length=min_length, max_length=max_length, max_depth=max_depth, max_args=max_args, op_prob=op_prob)
    rng = random.Random(seed)
    ids = np.zeros((n, max_length), dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    kept = 0
    while kept < n:
        tokens: list = []
        try:
            value = _expression(rng, 0, max_depth, max_args, op_prob, max_length, tokens)
        except _TooLong:
            continue
        if len(tokens) >= min_length:
            ids[kept, :len(tokens)], labels[kept] = tokens, value
            kept += 1
    return ids, labels


def shortest(min_length: int | None, max_length: int) -> int:
    return max(1, max_length // 4) if min_length is None else min_length


def check(min_length: int, max_length: int, max_depth: int, max_args: int, op_prob: float):
    for name, value, least in (("min_length", min_length, 1), ("max_length", max_length, 1),
                               ("max_depth", max_depth, 1), ("max_args", max_args, 2)):
        if not isinstance(value, int) or value < least:
            raise ValueError(f"data.settings.{name}={value!r}: give an integer of at least {least}")
    if min_length > max_length:
        raise ValueError(f"data.settings.min_length={min_length} is above max_length={max_length}")
    if not 0 < op_prob < 1:
        raise ValueError(f"data.settings.op_prob={op_prob!r}: give a probability strictly between 0 and 1")
    if min_length > 1 and max_length < 4:  # else no expression fits: one with an operator is at least [OP a b ]
        raise ValueError(f"data.settings.min_length={min_length} and max_length={max_length}: no expression "
                         f"has 2 or 3 tokens")


def text(ids) -> str:
    """Token ids back to the expression's text, padding dropped."""
    return " ".join(VOCAB[i] for i in ids if i != PAD)
