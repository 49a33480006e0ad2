"""ListOps (Nangia & Bowman 2018; LRA's long version, Tay et al. 2021), generated here from its description.

An example is one nested expression over the digits 0-9, written with its brackets, e.g.
`[MAX 2 9 [MIN 4 7 ] 0 ]`; the label is its value, a digit. The operators are MAX, MIN, MED (the median; of
an even count, the mean of the middle two rounded down) and SM (the sum modulo 10). As in LRA's generator the
root is at depth 1, and at each node above `max_depth` an operator is drawn with probability `op_prob` (LRA:
0.25), taking 2 to `max_args` arguments (LRA: 10); otherwise a digit. So operators nest at most max_depth - 1
deep (LRA: 9), and a digit sits at most at depth max_depth. Expressions are kept when their token count lies
strictly between min_length and max_length, as LRA keeps 501 to 1,999 tokens for its 500 and 2,000;
min_length defaults to a quarter of max_length, LRA's ratio, so one setting names a length. Like LRA, one set
of distinct expressions is drawn and then split.

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
    """Append one expression's token ids to `out` and return its value; _TooLong as soon as `out` reaches
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
    if len(out) >= max_length:
        raise _TooLong
    return value


def generate(n: int, seed: int, min_length: int | None = None, max_length: int = 512, max_depth: int = 10,
             max_args: int = 10, op_prob: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """`n` distinct expressions as token ids (n, max_length), PAD after each one's end, and their values (n,)."""
    min_length = shortest(min_length, max_length)
    check(min_length=min_length, max_length=max_length, max_depth=max_depth, max_args=max_args, op_prob=op_prob)
    rng = random.Random(seed)
    ids = np.zeros((n, max_length), dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    seen: set = set()
    while len(seen) < n:
        tokens: list = []
        try:
            value = _expression(rng, 1, max_depth, max_args, op_prob, max_length, tokens)
        except _TooLong:
            continue
        if len(tokens) > min_length and tuple(tokens) not in seen:
            ids[len(seen), :len(tokens)], labels[len(seen)] = tokens, value
            seen.add(tuple(tokens))
    return ids, labels


def shortest(min_length: int | None, max_length: int) -> int:
    return max(1, max_length // 4) if min_length is None else min_length


def check(min_length: int, max_length: int, max_depth: int, max_args: int, op_prob: float):
    for name, value, least in (("min_length", min_length, 1), ("max_length", max_length, 1),
                               ("max_depth", max_depth, 1), ("max_args", max_args, 2)):
        if not isinstance(value, int) or value < least:
            raise ValueError(f"data.settings.{name}={value!r}: give an integer of at least {least}")
    if not 0 < op_prob < 1:
        raise ValueError(f"data.settings.op_prob={op_prob!r}: give a probability strictly between 0 and 1")
    longest = 1  # the most tokens an expression can have: every node an operator with max_args arguments
    for _ in range(max_depth - 1):
        longest = 2 + max_args * longest
    if max(min_length + 1, 4) > min(longest, max_length - 1):  # past one digit, the shortest is [OP a b ]
        raise ValueError(f"data.settings: no expression is longer than min_length={min_length} and shorter than "
                         f"max_length={max_length} (with max_depth={max_depth} and max_args={max_args} the "
                         f"longest has {longest} tokens)")


def text(ids) -> str:
    """Token ids back to the expression's text, padding dropped."""
    return " ".join(VOCAB[i] for i in ids if i != PAD)
