"""Verdicts: each published claim (`claims:` in results/published/*.yaml) tested on the records.

    python -m runners.report.verdicts [--records results/records] [--published results/published]
                                      [--out results/verdicts.csv]

A claim says that model a is better than model b on a metric (or matches it within a margin) in one suite's
setting. Its records are the report's (the newest per run; of a tuned model, the runs at the value it chose
on validation), one per seed, each with its per-example test outcomes (tasks/outcomes.py).

The interval is a 95% percentile interval of a paired, two-level bootstrap of the difference a - b, in the
metric's units. Each of the 4,000 replicates draws seeds with replacement from the seeds both models ran,
and test examples with replacement; the same examples for both models and every seed, since a suite scores
every model and seed on one fixed test set (its targets' fingerprints must agree, or the pair is not
comparable). It recomputes each model's metric on those examples for each drawn seed and averages a - b over
the drawn seeds. So the interval holds both the spread between training seeds and the sampling error of a
finite test set, and pairing removes what the two models share (the hard examples are hard for both).

- better: reproduced when the interval lies wholly on a's side of zero (the metric's direction says which),
  contradicted when it lies wholly on b's side, otherwise not separable.
- matches: reproduced when the interval lies within ±margin, contradicted when it lies wholly outside it,
  otherwise not separable.
- not comparable, with the reason: the claim says why, or a side has no records, fewer than two seeds in
  common, no per-example outcomes, or a different test set.
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from runners.run.identity import newest, row_key
from runners.run.records import read_records
from runners.report.rows import split_tuned, untuned
from tasks import outcomes

REPLICATES, LEVEL, SEED = 4000, 0.95, 0
VERDICTS = ("reproduced", "contradicted", "not separable", "not comparable")
COLUMNS = ["claim", "source", "suite", "metric", "model_a", "model_b", "diff", "ci_low", "ci_high", "seeds", "verdict"]
KEYS = {"id", "claim", "suite", "task", "metric", "a", "b", "relation"}


@dataclass
class Verdict:
    claim: dict
    source: str
    verdict: str
    reason: str = ""
    diff: float | None = None
    low: float | None = None
    high: float | None = None
    seeds: int = 0
    rows: tuple = ()            # (suite, task) of the records behind it, for a link

    def csv_row(self) -> dict:
        c = self.claim
        fmt = lambda x: "" if x is None else f"{x:.6g}"  # noqa: E731
        return dict(claim=c["id"], source=self.source, suite=c["suite"], metric=c["metric"], model_a=c["a"],
                    model_b=c["b"], diff=fmt(self.diff), ci_low=fmt(self.low), ci_high=fmt(self.high),
                    seeds=self.seeds, verdict=self.verdict + (f": {self.reason}" if self.reason else ""))


def read_claims(published: Path) -> list[tuple[dict, str]]:
    """(claim, its source line) for every claim of every published file, checked."""
    found, seen = [], set()
    for path in sorted(Path(published).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for c in doc.get("claims") or []:
            missing = KEYS - set(c)
            if missing:
                raise SystemExit(f"verdicts: {path.name}: claim {c.get('id', '?')} lacks {', '.join(sorted(missing))}")
            if c["relation"] not in ("better", "matches") or c["relation"] == "matches" and "margin" not in c:
                raise SystemExit(f"verdicts: {path.name}: claim {c['id']}: relation must be better, or matches "
                                 f"with a margin")
            if c["id"] in seen:
                raise SystemExit(f"verdicts: claim id {c['id']} appears twice")
            seen.add(c["id"])
            found.append((c, f"{path.name}: {doc.get('source', '')}"))
    return found


def _get(rec: dict, dotted: str):
    node = rec
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _matches(rec: dict, where: dict, metric: str) -> bool:
    return all(str(_get(rec, k)) == str(v) for k, v in where.items()) and metric in (rec.get("metrics") or {})


def _metric(rec_pivot: str | None, claim: dict) -> tuple[str, dict]:
    """A pivoted metric (test/mse@96) names the base metric and a `where` on the pivot."""
    name = claim["metric"]
    if "@" in name and rec_pivot:
        base, _, value = name.rpartition("@")
        return base, {f"data.{rec_pivot}": value}
    return name, {}


def runs_of(records: list[dict], claim: dict, model: str) -> tuple[dict[int, dict], str]:
    """{seed: record} of one side of a claim, or ({}, why not). A `where` setting applies to a model whose
    records have it (Graph-Mamba's node order selects its rows; GPS, which has none, is not filtered by it)."""
    mine = [r for r in records if r.get("model") == model and r.get("status") == "ok"
            and r.get("suite") == claim["suite"] and r.get("task") == claim["task"]]
    pivot = next((r.get("pivot") for r in mine if r.get("pivot")), None)
    metric, at = _metric(pivot, claim)
    where = {k: v for k, v in {**(claim.get("where") or {}), **at}.items()
             if any(_get(r, k) is not None for r in mine)}
    chosen = [r for r in mine if _matches(r, where, metric)]
    if not chosen:
        return {}, f"no finished run of {model} reports {claim['metric']} in suite {claim['suite']}"
    rows = {row_key(untuned(r)) for r in chosen}
    if len(rows) > 1:
        return {}, f"{len(rows)} different configurations of {model} match; the claim needs a `where`"
    return {r["seed"]: r for r in chosen}, ""


def interval(a: list[dict], b: list[dict], kind: str, rng) -> tuple[float, float, float]:
    """Observed mean difference and the bootstrap interval; a, b: per common seed {num, den} arrays."""
    n = len(a[0]["num"])
    observed = np.mean([outcomes.value(x["num"], x["den"], kind) - outcomes.value(y["num"], y["den"], kind)
                        for x, y in zip(a, b)])
    diffs = np.empty((len(a), REPLICATES))
    for start in range(0, REPLICATES, 500):  # blocks of replicates bound the memory of the gathers
        idx = rng.integers(0, n, size=(min(500, REPLICATES - start), n))
        for s, (x, y) in enumerate(zip(a, b)):
            diffs[s, start:start + len(idx)] = (outcomes.value(x["num"][idx], x["den"][idx], kind, axis=1)
                                                - outcomes.value(y["num"][idx], y["den"][idx], kind, axis=1))
    drawn = rng.integers(0, len(a), size=(REPLICATES, len(a)))
    per_replicate = diffs[drawn, np.arange(REPLICATES)[:, None]].mean(1)
    low, high = np.quantile(per_replicate, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(observed), float(low), float(high)


def judge(claim: dict, source: str, records: list[dict], root: Path) -> Verdict:
    v = Verdict(claim, source, "not comparable", rows=(claim["suite"], claim["task"]))
    if claim.get("not_comparable"):
        v.reason = str(claim["not_comparable"])
        return v
    sides = []
    for model in (claim["a"], claim["b"]):
        runs, why = runs_of(records, claim, model)
        if not runs:
            v.reason = why
            return v
        sides.append(runs)
    seeds = sorted(set(sides[0]) & set(sides[1]))
    v.seeds = len(seeds)
    if len(seeds) < 2:
        v.reason = f"{len(seeds)} seed(s) in common: the spread between seeds is unknown"
        return v
    per_side, targets = [], set()
    for runs in sides:
        kept = []
        for s in seeds:
            rec = runs[s]
            path = root / rec["suite"] / str(rec.get("outcomes"))
            if not rec.get("outcomes") or not path.exists():
                v.reason = f"{rec['model']} seed {s} has no per-example outcomes (recorded before they were kept)"
                return v
            name = _metric(rec.get("pivot"), claim)[0]
            o = outcomes.load(path)[name]
            targets.add(o["targets"])
            kept.append(o)
        per_side.append(kept)
    if len(targets) > 1:
        v.reason = "the runs were scored on different test sets"
        return v
    kind = per_side[0][0]["kind"]
    v.diff, v.low, v.high = interval(*per_side, kind, np.random.default_rng(SEED))
    v.verdict = decide(claim, records, v.low, v.high)
    return v


def decide(claim: dict, records: list[dict], low: float, high: float) -> str:
    if claim["relation"] == "matches":
        m = float(claim["margin"])
        return "reproduced" if -m < low and high < m else "contradicted" if low > m or high < -m else "not separable"
    better = _direction(records, claim)
    a_side = low > 0 if better == "max" else high < 0
    b_side = high < 0 if better == "max" else low > 0
    return "reproduced" if a_side else "contradicted" if b_side else "not separable"


def _direction(records: list[dict], claim: dict) -> str:
    """max or min, from the records' metric_directions (keyed by the metric's last name: acc, mse, bpb)."""
    leaf = claim["metric"].split("/")[-1].split("@")[0]
    for r in records:
        d = (r.get("metric_directions") or {}).get(leaf)
        if d:
            return d
    return "min" if leaf in ("loss", "mse", "mae", "rmse", "bpb") else "max"


def verdicts(records_dir: Path, published: Path) -> list[Verdict]:
    shown, _ = split_tuned(newest(read_records(Path(records_dir))))
    return [judge(c, src, shown, Path(records_dir)) for c, src in read_claims(published)]


def write_csv(found: list[Verdict], path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(v.csv_row() for v in found)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.report.verdicts", description=__doc__.split("\n")[0])
    p.add_argument("--records", default="results/records")
    p.add_argument("--published", default="results/published")
    p.add_argument("--out", default="results/verdicts.csv")
    a = p.parse_args(argv)
    found = verdicts(Path(a.records), Path(a.published))
    write_csv(found, Path(a.out))
    for v in found:
        span = "" if v.low is None else f"  {v.diff:+.4g} [{v.low:+.4g}, {v.high:+.4g}], {v.seeds} seeds"
        print(f"{v.claim['id']}: {v.verdict}{span}{' (' + v.reason + ')' if v.reason else ''}")
    print(f"wrote {a.out}: " + ", ".join(f"{sum(v.verdict == k for v in found)} {k}" for k in VERDICTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
