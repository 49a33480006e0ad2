"""How far two sets of records agree: every finished run recorded in both (same suite and config hash), whether
all its metrics are identical, and by how much its primary metric moved where they are not.

    python -m runners.suite.agreement OTHER [--records results/records] [--tolerance 0] [--show 20] [--by hash|command]

For example, after `make reproduce` in a fresh clone whose records were removed first:

    .venv/bin/python -m runners.suite.agreement ../mambazoo/results/records    # the fresh runs against the committed

`--by command` matches runs by the command that made them instead of the config hash: after a change to what a
model computes (a new builder revision makes every hash new), it says which numbers the change moved.

Exit status 1 when a primary metric differs by more than --tolerance (in the unit the report shows: points
for accuracies), 0 otherwise. Each side's devices and commits are printed: on the CPU, the same command gives
identical metrics on the same instruction set (AVX2, AVX512, ...), and a float rounding difference between
instruction sets can grow over training.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from runners.run.identity import newest, telling
from runners.run.records import is_accuracy, is_number, read_records


def finished(root: Path, by: str = "hash") -> dict[tuple, dict]:
    """{(suite, config hash or command): record} of the finished runs under `root` (the newest of each)."""
    if not root.is_dir():
        raise SystemExit(f"agreement: {root} is not a folder of records")
    field = {"hash": "config_hash", "command": "command"}[by]
    runs = sorted((r for r in read_records(root) if r.get("status") == "ok" and r.get(field)),
                  key=lambda r: str(r.get("finished_at", "")))
    if by == "hash":
        runs = newest(runs)
    return {(r.get("suite"), r[field]): r for r in runs}  # sorted by time: the newest of a command stays


def compare(ours: dict[tuple, dict], theirs: dict[tuple, dict]) -> dict:
    """{"identical": [keys], "differ": [(|delta|, key, metric, ours, theirs)], "only_ours": n, "only_theirs": n};
    `differ` is sorted by the size of the difference, largest first."""
    both = sorted(set(ours) & set(theirs), key=str)
    identical, differ = [], []
    for key in both:
        a, b = ours[key], theirs[key]
        if json.dumps(a["metrics"], sort_keys=True) == json.dumps(b["metrics"], sort_keys=True):  # NaN equals NaN
            identical.append(key)
            continue
        metric = a.get("primary_metric") or "test/acc"
        x, y = a["metrics"].get(metric), b["metrics"].get(metric)
        differ.append((_delta(x, y, 100.0 if is_accuracy(metric) else 1.0), key, metric, x, y))
    differ.sort(key=lambda d: (-d[0], str(d[1])))
    return {"identical": identical, "differ": differ, "only_ours": len(set(ours) - set(theirs)),
            "only_theirs": len(set(theirs) - set(ours))}


def _delta(x, y, scale: float) -> float:
    """|x - y| in the report's unit; two NaNs agree (both runs diverged), one NaN or a missing value is infinitely far."""
    if not (is_number(x) and is_number(y)):
        return math.inf
    if math.isnan(x) and math.isnan(y):
        return 0.0
    delta = abs(x - y) * scale
    return math.inf if math.isnan(delta) else delta


def labels(records: dict[tuple, dict]) -> dict[tuple, str]:
    """Each run's name and the overrides that tell it apart from the rest of its suite (a tuned value, a scan
    order), which the run name does not carry."""
    words = {key: str(rec.get("command", "")).split() for key, rec in records.items()}
    common: dict[str, set] = {}
    for (suite, _), w in words.items():
        common[suite] = common.get(suite, set(w)) & set(w)
    return {key: " ".join([records[key]["run_name"], *telling(w, common[key[0]])]) for key, w in words.items()}


def _shown(value, metric: str) -> str:
    if not is_number(value):
        return "—"
    return f"{100 * value:.1f}" if is_accuracy(metric) else f"{value:.4g}"


def _sides(records: dict[tuple, dict], label: str) -> str:
    devices = sorted({str(r.get("device")) for r in records.values()})
    commits = sorted({str(r.get("git_commit")) for r in records.values()})
    return f"{label}: {len(records)} finished runs; devices: {'; '.join(devices)}; commits: {', '.join(commits)}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.suite.agreement", description=__doc__.split("\n")[0])
    p.add_argument("other", type=Path, help="the other records folder")
    p.add_argument("--records", type=Path, default=Path("results/records"))
    p.add_argument("--tolerance", type=float, default=0.0, help="largest primary-metric difference that passes")
    p.add_argument("--show", type=int, default=20, help="how many differing runs to list, largest first")
    p.add_argument("--by", choices=("hash", "command"), default="hash",
                   help="match runs by config hash, or by the command that made them (across a model change)")
    a = p.parse_args(argv)
    ours, theirs = finished(a.records, a.by), finished(a.other, a.by)
    found = compare(ours, theirs)
    print(_sides(ours, f"ours ({a.records})"))
    print(_sides(theirs, f"theirs ({a.other})"))
    both = len(found["identical"]) + len(found["differ"])
    beyond = [d for d in found["differ"] if d[0] > a.tolerance]
    print(f"{both} runs in both: {len(found['identical'])} with identical metrics, {len(found['differ'])} different, "
          f"{len(beyond)} of them beyond the tolerance {a.tolerance:g}; {found['only_ours']} only in ours, "
          f"{found['only_theirs']} only in theirs")
    label = labels(ours)
    for delta, key, metric, x, y in found["differ"][:max(a.show, 0)]:
        unit = " points" if is_accuracy(metric) else ""
        print(f"  {key[0]} / {label[key]}: {metric} {_shown(x, metric)} (ours) vs {_shown(y, metric)} "
              f"(theirs), {delta:.3g}{unit} apart")
    return 1 if beyond else 0


if __name__ == "__main__":
    sys.exit(main())
