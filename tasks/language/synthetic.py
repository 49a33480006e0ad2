"""Synthetic token tasks with published generators: selective copying, induction heads, MQAR.

Every generator is a pure function of its settings and a `torch.Generator` and returns
`(inputs, targets)`, two LongTensors of the same shape `(n, total_len)`:

* `inputs[b, t]` is the token the model reads at position t;
* `targets[b, t]` is `IGNORE_INDEX` (-100) except at the positions the task scores, where it is
  the token the model must predict *at that position*, having read `inputs[b, :t + 1]`
  (the next-token convention: feed `inputs` to a causal model, take cross-entropy against
  `targets` with `ignore_index=-100`, and measure accuracy only where `targets != -100`).

The token layouts follow the public generators the papers used (read for the facts, not copied):

* selective copying: `torch_copying_data` in state-spaces/s4 `src/dataloaders/datasets/copying.py`
  (`variable=True` is the selective variant), the task of Gu & Dao (2023) §4.1.1, App. E.1, Table 1;
* induction heads: `generate_induction_head` in HazyResearch/safari `src/dataloaders/synthetics.py`,
  the task of Gu & Dao (2023) §4.1.2, Table 2 / Table 11;
* MQAR: `multiquery_ar` in HazyResearch/zoology `zoology/data/associative_recall.py` (and
  `multiquery_ar.py`), Arora et al., Zoology (ICLR 2024); `random_non_queries=True` is the harder
  variant the Mamba-2 paper (App. D.1) used.

Randomness is drawn only from the `generator` argument (None: torch's global generator), on the
generator's device, so the same seed and settings give identical tensors.
"""
from __future__ import annotations

import math
import operator

import torch

IGNORE_INDEX = -100

_CHUNK_ELEMENTS = 1 << 22  # random floats drawn per block when sampling distinct indices


# ----------------------------------------------------------------------------------- checks


def _int(task: str, name: str, value, minimum: int, why: str, fix: str) -> int:
    """`value` as an int >= minimum, else a one-line ValueError naming the setting."""
    ok = not isinstance(value, bool)
    if ok:
        try:
            value = operator.index(value)
        except TypeError:
            ok = False
    if not ok or value < minimum:
        raise ValueError(f"{task}: {name}={value!r} must be an integer >= {minimum} ({why}); {fix}")
    return value


def _n(task: str, n) -> int:
    return _int(task, "n", n, 1, "the number of sequences to generate", "pass n >= 1")


def _device(generator: torch.Generator | None) -> torch.device:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator.device if generator is not None else torch.device("cpu")


# ---------------------------------------------------------------------------------- sampling


def _distinct(n: int, pool: int, k: int, generator, device, log_weights: torch.Tensor | None = None) -> torch.Tensor:
    """(n, k) distinct indices in [0, pool) per row, in the order sequential sampling draws them.

    Uniform without replacement when `log_weights` is None, otherwise weighted sampling without
    replacement (probability proportional to exp(log_weights)) by the Gumbel-top-k trick, whose
    sorted top-k order is the order successive draws would give.
    """
    out = torch.empty(n, k, dtype=torch.long, device=device)
    rows = max(1, _CHUNK_ELEMENTS // pool)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        u = torch.rand(stop - start, pool, generator=generator, device=device)
        if log_weights is None:
            score = u
        else:
            score = log_weights - torch.log(-torch.log(u))  # log w + Gumbel(0, 1)
        out[start:stop] = score.topk(k, dim=1, sorted=True).indices
    return out


# ------------------------------------------------------------------------- selective copying


def selective_copying(n: int, seq_len: int, num_tokens: int, vocab_size: int,
                      generator: torch.Generator | None, variable: bool = True):
    """The (selective) copying task of Gu & Dao (2023), §4.1.1 / App. E.1 / Table 1.

    Token ids (state-spaces/s4 `torch_copying_data`, `A = vocab_size`):
      * 0 is the noise / blank token;
      * `vocab_size - 1` is the marker token;
      * data tokens are drawn uniformly, with replacement, from [1, vocab_size - 2]
        (so `num_tokens` may exceed the number of data ids: the paper copies 16 tokens with
        vocab 16, i.e. 14 data ids).

    Layout, with L = seq_len noise tokens and M = num_tokens (total length L + 2M):
      * positions [0, L + M): M data tokens at M distinct positions drawn uniformly and sorted
        (`variable=True`, "selective"), or at positions [0, M) (`variable=False`, the classic
        copying task); every other position there holds the noise token 0;
      * positions [L + M, L + 2M): M marker tokens.
    Scored positions: the M marker positions; `targets[:, L + M + i]` is the i-th data token
    in order of position. All other targets are -100.

    The paper's setting: seq_len 4096, num_tokens 16, vocab_size 16 (it says "sequences of length
    4096"; the s4 generator's L counts the noise tokens, which is what seq_len is here).
    """
    task = "selective_copying"
    n = _n(task, n)
    vocab_size = _int(task, "vocab_size", vocab_size, 3,
                      "noise id 0, marker id vocab_size-1 and at least one data id",
                      "use vocab_size >= 3 (the Mamba paper uses 16)")
    seq_len = _int(task, "seq_len", seq_len, 1, "the number of noise tokens the data tokens are spread among",
                   "use seq_len >= 1 (the Mamba paper uses 4096)")
    num_tokens = _int(task, "num_tokens", num_tokens, 1, "the number of data tokens to copy",
                      "use num_tokens >= 1 (the Mamba paper uses 16)")
    device = _device(generator)
    L, M = seq_len, num_tokens
    marker = vocab_size - 1

    data = torch.randint(1, vocab_size - 1, (n, M), generator=generator, device=device)
    if variable:
        positions = _distinct(n, L + M, M, generator, device).sort(dim=1).values
    else:
        positions = torch.arange(M, device=device).expand(n, M)
    inputs = torch.zeros(n, L + 2 * M, dtype=torch.long, device=device)
    inputs[:, : L + M].scatter_(1, positions, data)
    inputs[:, L + M:] = marker
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[:, L + M:] = data
    return inputs, targets


# --------------------------------------------------------------------------- induction heads


def induction_heads(n: int, seq_len: int, vocab_size: int, generator: torch.Generator | None):
    """The induction heads task of Gu & Dao (2023), §4.1.2 / Table 11 (safari's generator).

    Token ids (safari `ICLDataModule` with vocab_size V: two special tokens, sorted with the
    regular ones so that the no-op "." is id 0 and the copy prefix "=>" is id V - 1):
      * `vocab_size - 1` is the trigger (safari's copy prefix);
      * id 0 is reserved (safari's no-op token) and never appears;
      * ordinary tokens are drawn uniformly, with replacement, from [1, vocab_size - 2].

    Layout, with T = seq_len (total length T + 1):
      * positions [0, T): T ordinary tokens, except the trigger at one position p drawn uniformly
        from [0, T - 2); the token at p + 1 is the one to recall;
      * position T: the trigger again.
    Scored position: the last one only; `targets[:, T]` is `inputs[:, p + 1]`. The trigger occurs
    exactly twice per row. (safari trains with next-token labels at every position and scores only
    the last at test; here only the last is ever labelled.)

    The paper's setting: vocab_size 16, seq_len 256 for training, 2**6 .. 2**20 at test.
    """
    task = "induction_heads"
    n = _n(task, n)
    vocab_size = _int(task, "vocab_size", vocab_size, 3,
                      "reserved id 0, trigger id vocab_size-1 and at least one ordinary id",
                      "use vocab_size >= 3 (the Mamba paper uses 16)")
    seq_len = _int(task, "seq_len", seq_len, 3,
                   "the first trigger goes at a position in [0, seq_len-2) and is followed by the token to recall",
                   "use seq_len >= 3 (the Mamba paper trains at 256)")
    device = _device(generator)
    trigger = vocab_size - 1

    inputs = torch.randint(1, vocab_size - 1, (n, seq_len + 1), generator=generator, device=device)
    p = torch.randint(0, seq_len - 2, (n, 1), generator=generator, device=device)
    inputs.scatter_(1, p, trigger)
    inputs[:, seq_len] = trigger
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[:, seq_len] = inputs.gather(1, p + 1).squeeze(1)
    return inputs, targets


# ------------------------------------------------------------------------------------- MQAR


def mqar(n: int, seq_len: int, num_kv_pairs: int, vocab_size: int, generator: torch.Generator | None,
         power_a: float = 0.01, random_non_queries: bool = True):
    """Multi-query associative recall (Zoology, Arora et al., ICLR 2024; zoology `multiquery_ar`).

    Token ids, with V = vocab_size:
      * keys: K = num_kv_pairs distinct ids drawn uniformly from [1, V // 2);
      * values: K distinct ids drawn uniformly from [V // 2, V), value i bound to key i;
      * id 0 fills the non-query positions when `random_non_queries=False`; with True (Zoology's
        default, and the harder variant of the Mamba-2 paper) each of them is a uniform draw from
        [0, V) instead (it may coincide with a key or value; it is never scored).

    Layout, with T = seq_len (total length T):
      * positions [0, 2K): k_0 v_0 k_1 v_1 ... k_{K-1} v_{K-1};
      * positions [2K, T): each key queried once, key i at position 2K + 2 * g_i, where the gaps
        g_i are K distinct values from [0, (T - 2K) // 2) drawn without replacement with
        probability proportional to (g + 1) ** (power_a - 1) (a power law: small gaps likely;
        power_a = 1 is uniform), in draw order g_0, g_1, ... as Zoology does;
      * every other position: filler (see above). The value does not follow the query in inputs.
    Scored positions: the K query positions; `targets[:, 2K + 2 g_i]` is v_i. All others -100.

    Zoology additionally asserts seq_len even and vocab_size > seq_len; neither is needed by the
    layout, so they are not required here. The paper settings: V = 8192, power_a = 0.01,
    (T, K) in {(64, 4), (128, 8), (256, 16), (512, 64)}.
    """
    task = "mqar"
    n = _n(task, n)
    num_kv_pairs = _int(task, "num_kv_pairs", num_kv_pairs, 1, "the number of key-value pairs, each queried once",
                        "use num_kv_pairs >= 1 (Zoology uses 4 to 64)")
    K = num_kv_pairs
    most = seq_len // 4 if isinstance(seq_len, int) and not isinstance(seq_len, bool) else 0
    seq_len = _int(task, "seq_len", seq_len, 4 * K,
                   f"num_kv_pairs={K} needs 2*{K} tokens of pairs and {K} queries on distinct even offsets "
                   f"after them, i.e. seq_len >= 4 * num_kv_pairs = {4 * K}",
                   f"raise seq_len to at least {4 * K}" + (f" or lower num_kv_pairs to {most}" if most >= 1 else ""))
    vocab_size = _int(task, "vocab_size", vocab_size, 2 * K + 2,
                      f"keys are distinct ids from [1, vocab_size // 2), so num_kv_pairs={K} needs vocab_size >= "
                      f"2 * num_kv_pairs + 2 = {2 * K + 2}",
                      f"raise vocab_size to at least {2 * K + 2} (Zoology uses 8192)")
    if isinstance(power_a, bool) or not isinstance(power_a, (int, float)) or not (0 < power_a < math.inf):
        raise ValueError(f"{task}: power_a={power_a!r} must be a finite number > 0 (gap g is drawn with weight "
                         f"(g + 1) ** (power_a - 1)); use 0.01 (Zoology) or 1.0 for uniform gaps")
    device = _device(generator)
    half = vocab_size // 2
    context = 2 * K
    space = (seq_len - context) // 2

    keys = _distinct(n, half - 1, K, generator, device) + 1
    values = _distinct(n, vocab_size - half, K, generator, device) + half
    log_w = (power_a - 1.0) * torch.log(torch.arange(1, space + 1, dtype=torch.float32, device=device))
    gaps = _distinct(n, space, K, generator, device, log_weights=log_w)
    query_pos = context + 2 * gaps

    if random_non_queries:
        inputs = torch.randint(0, vocab_size, (n, seq_len), generator=generator, device=device)
    else:
        inputs = torch.zeros(n, seq_len, dtype=torch.long, device=device)
    inputs[:, 0:context:2] = keys
    inputs[:, 1:context:2] = values
    inputs.scatter_(1, query_pos, keys)
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets.scatter_(1, query_pos, values)
    return inputs, targets


TASKS = {"selective_copying": selective_copying, "induction_heads": induction_heads, "mqar": mqar}
