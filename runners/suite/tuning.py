"""Per-model tuning of one protocol setting (the learning rate, by default) on validation.

A suite's `tune` block names the setting, its grid of values, the validation metric and its direction,
and the tuning seeds. Each (pipeline, model, point) trains at every value on the tuning seeds; the value
with the best mean validation metric over those seeds is chosen (ties go to the earlier value in the
grid), and the suite's other seeds train at the chosen value only. A task trained until solved
(`trainer.solved_at`) is ranked by its goal instead: the values that solved it on every tuning seed beat
the others, and among them the fewest mean steps wins, since past the goal the validation accuracies of
solved runs differ by noise (0.994 against 0.993) and a rate chosen on that noise can be one that solves
it on seed 0 only. The test metrics of the leaderboard are those at the chosen value; every trial stays in
the records, stamped with the `tuning` spec, so the report makes the same choice from the records alone.
"""
from __future__ import annotations

import math

from omegaconf import OmegaConf

from runners.run.config import UsageError

TUNABLE = ("optim.", "schedule.")  # protocol settings: the same grid for every model of a suite


def spec(tune) -> dict | None:
    """The suite's `tune` block as plain data (what each record carries), checked; None when it has no values."""
    s = OmegaConf.to_container(tune, resolve=True) if OmegaConf.is_config(tune) else dict(tune or {})
    if not s.get("values"):
        return None
    if not s["key"].startswith(TUNABLE):
        raise UsageError(f"suite.tune.key={s['key']!r}: only optimiser and schedule settings "
                         f"({', '.join(t + '*' for t in TUNABLE)}) can be tuned")
    if len(s["values"]) < 2 or len(set(map(str, s["values"]))) != len(s["values"]):
        raise UsageError(f"suite.tune.values={s['values']}: give at least two distinct values")
    if s["mode"] not in ("max", "min"):
        raise UsageError(f"suite.tune.mode={s['mode']!r} is not one of max, min")
    if not s["seeds"]:
        raise UsageError("suite.tune.seeds is empty: name the seeds the trials run at")
    return s


def override(s: dict, value) -> str:
    return f"{s['key']}={value}"


def value_of(record: dict, key: str):
    """The tuned setting's value in a record's protocol (`optim.lr` -> record['protocol']['optim']['lr'])."""
    group, _, name = key.partition(".")
    return ((record.get("protocol") or {}).get(group) or {}).get(name)


def best(scores: dict, s: dict, steps: dict | None = None):
    """The grid value with the best mean score ({value: [score per tuning seed]}); None when none has one.
    With `steps` ({value: [steps each tuning trial took to solve its task, or None]}), a value that solved it
    on every tuning seed wins over the rest, the fewest mean steps first. Ties go to the earlier value."""
    solved = {v: st for v, st in (steps or {}).items() if st and None not in st}
    if solved:
        ranked = [(v, -_mean(solved[v])) for v in s["values"] if v in solved]
    else:
        sign = 1 if s["mode"] == "max" else -1
        ranked = [(v, sign * _mean(scores[v])) for v in s["values"]
                  if scores.get(v) and not any(math.isnan(x) for x in scores[v])]
    return max(ranked, key=lambda vr: vr[1])[0] if ranked else None  # max keeps the first of equals


def choice(records: list[dict], s: dict) -> tuple[dict, dict, object]:
    """(scores, steps, chosen value) of one (pipeline, model, point) group's tuning records."""
    scores, steps = trial_scores(records, s), trial_steps(records, s)
    return scores, steps, best(scores, s, steps)


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def trial_scores(records: list[dict], s: dict) -> dict:
    """{value: [metric of each finished trial on a tuning seed]} from one group's records."""
    scores: dict = {}
    for rec in records:
        value = value_of(rec, s["key"])
        metric = (rec.get("metrics") or {}).get(s["metric"])
        if rec.get("status") == "ok" and rec.get("seed") in s["seeds"] and isinstance(metric, (int, float)):
            scores.setdefault(grid_value(value, s["values"]), []).append(float(metric))
    return scores


def _goal(record: dict):
    return ((record.get("protocol") or {}).get("trainer") or {}).get("solved_at")


def solved_in(record: dict):
    """The steps a run took to reach its `trainer.solved_at` on validation accuracy (where training stopped);
    None where it has no such goal or did not reach it."""
    goal = _goal(record)
    acc = (record.get("metrics") or {}).get("val/acc")
    return record.get("steps") if goal and isinstance(acc, (int, float)) and acc >= goal else None


def trial_steps(records: list[dict], s: dict) -> dict:
    """{value: [steps each tuning trial took to solve its task, or None (a failed trial too)]}; empty for a
    group whose protocol sets no `trainer.solved_at`."""
    steps: dict = {}
    for rec in records:
        if _goal(rec) and rec.get("seed") in s["seeds"]:
            steps.setdefault(grid_value(value_of(rec, s["key"]), s["values"]), []).append(solved_in(rec))
    return steps


def grid_value(value, values):
    """The grid entry a recorded value came from (a float read back from JSON equals its YAML value)."""
    return next((v for v in values if v == value or str(v) == str(value)), value)
