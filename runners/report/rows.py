"""The runs as the report sees them: the records (read by runners/run/records.py, one per run kept by
runners/run/identity.py) grouped into rows, and each row's metrics averaged over seeds.

A row is one (suite, task, model, model config, data) over its seeds. Its statistics are the mean and the
sample std (n - 1) over the seeds whose runs finished; failed runs are kept apart and never averaged in.
Of records of one suite with the same config hash, or of the same run (the row plus the seed), only the
newest counts. A row's key includes the protocol (optimiser, schedule, trainer budget), so runs trained
differently are never averaged together.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from runners.suite import tuning
from runners.run.identity import canon, row_key
from runners.run.records import is_accuracy, is_number

SPLIT_ORDER = {"test": 0, "val": 1, "train": 2}


# ---- reading ------------------------------------------------------------------------------------------

def read_published(root: Path) -> list[dict]:
    """The papers' numbers, one source per file plus the `related` sources a file lists."""
    sources = []
    for path in sorted(root.glob("*.yaml")) if root.exists() else []:
        try:
            src = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise SystemExit(f"report: {path} is not valid YAML: {e}") from None
        related = (src.pop("related", None) or []) if isinstance(src, dict) else []
        sources.append(_checked_source(src, path, path.name))
        if not isinstance(related, list):
            raise SystemExit(f"report: {path}: `related` must be a list of sources")
        for rel in related:  # a second paper's setting for the same task: inherits what it does not restate
            inherited = {k: src[k] for k in ("task", "metric", "unit") if k in src}
            rel = {**inherited, **rel} if isinstance(rel, dict) else rel
            sources.append(_checked_source(rel, path, f"{path.name}, related"))
    return sources


def _checked_source(src, path: Path, name: str) -> dict:
    entries = (src.get("entries") or []) if isinstance(src, dict) else None
    if not isinstance(src, dict) or not {"source", "task"} <= set(src) or not isinstance(entries, list) \
            or not all(isinstance(e, dict) for e in entries):
        raise SystemExit(f"report: {path} needs `source`, `task` and `entries`, a list of mappings")
    return dict(src, entries=entries, file=name)


# ---- grouping and statistics -------------------------------------------------------------------------

def untuned(rec: dict) -> dict:
    """The record with its tuned setting taken out of its protocol (a tuned row may hold runs at different
    chosen values, e.g. one per forecasting horizon; its `tuned` column names them)."""
    s = rec.get("tuning")
    if not s:
        return rec
    protocol = json.loads(canon(rec.get("protocol") or {}))
    group, _, name = s["key"].partition(".")
    (protocol.get(group) or {}).pop(name, None)
    return dict(rec, protocol=protocol)


def pivoted(records: list[dict]) -> list[dict]:
    """Records of a kind with a `pivot` (a data setting, e.g. the forecasting horizon) folded so that one row
    holds them all: the pivot leaves the row's data, and each metric is renamed `<metric>@<value>`, as the
    forecasting papers tabulate one column per horizon."""
    out = []
    for rec in records:
        pivot = rec.get("pivot")
        value = (rec.get("data") or {}).get(pivot) if pivot else None
        if value is None:
            out.append(rec)
            continue
        at = lambda m: f"{m}@{value}"  # noqa: E731
        out.append(dict(rec, data={k: v for k, v in rec["data"].items() if k != pivot}, pivot_value=value,
                        metrics={at(m): v for m, v in (rec.get("metrics") or {}).items()},
                        primary_metric=at(rec["primary_metric"]) if rec.get("primary_metric") else None))
    return out


def split_tuned(records: list[dict]) -> tuple[list[dict], dict[tuple, list[dict]]]:
    """The records to tabulate, and the tuning groups per (suite, task). An untuned record is shown; of a
    tuned (pipeline, model, config) group only the runs at the value it chose on validation (and its
    failed runs) are shown, by the rule compare used (runners.tuning). Each group is
    {"model", "spec", "scores": {value: [metric per tuning seed]}, "steps": {value: [steps to solve or None]},
    "chosen"}."""
    shown, groups = [], {}
    for rec in records:
        s = rec.get("tuning")
        if not s:
            shown.append(rec)
            continue
        key = row_key(untuned(rec)) + (canon(s),)
        groups.setdefault(key, []).append(rec)
    # a grid changed since: only the newest grid's trials count; the older grid's are stale, not merged in
    newest_spec = {}
    for key, recs in groups.items():
        last = max(str(r.get("finished_at", "")) for r in recs)
        if last >= newest_spec.get(key[:-1], ("", None))[0]:
            newest_spec[key[:-1]] = (last, key[-1])
    groups = {key: recs for key, recs in groups.items() if newest_spec[key[:-1]][1] == key[-1]}
    trials: dict[tuple, list[dict]] = {}
    for key, recs in sorted(groups.items()):
        s = recs[0]["tuning"]
        scores, steps, chosen = tuning.choice(recs, s)
        shown += [r for r in recs if r["status"] != "ok"
                  or tuning.grid_value(tuning.value_of(r, s["key"]), s["values"]) == chosen]
        pivot = recs[0].get("pivot")
        label = f"{pivot}={recs[0]['data'][pivot]}" if pivot and pivot in (recs[0].get("data") or {}) else ""
        trials.setdefault(key[:2], []).append(dict(model=recs[0]["model"], label=label, spec=s, scores=scores,
                                                   steps=steps, chosen=chosen))
    return shown, trials


@dataclass
class Row:
    suite: str
    task: str
    model: str
    model_config: dict
    data: dict
    protocol: dict
    runs: list = field(default_factory=list)     # finished runs, one per seed
    failed: list = field(default_factory=list)
    label: str = ""                              # what tells this row apart from the others of its table

    def values(self, metric: str) -> list[float]:
        return [float(v) for r in self.runs if is_number(v := (r.get("metrics") or {}).get(metric))]

    def stat(self, metric: str):
        """(mean, sample std or None, n) of `metric` over seeds, or None when no run reported it."""
        return mean_std(self.values(metric))

    def first(self, key: str):
        return next((r[key] for r in self.runs + self.failed if r.get(key) is not None), None)

    def seeds(self) -> list:
        """The distinct seeds of the finished runs (a pivoted row has one run per seed and pivot value)."""
        return sorted({r.get("seed") for r in self.runs}, key=str)


def mean_std(values: list[float]):
    if not values:
        return None
    n = len(values)
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return mean, std, n


def group_rows(records: list[dict]) -> dict[tuple, list[Row]]:
    """{(suite, task): [Row, ...]} in a stable order."""
    rows: dict[tuple, Row] = {}
    for rec in records:
        k = row_key(untuned(rec))
        if k not in rows:
            rows[k] = Row(k[0], k[1], k[2], rec.get("model_config") or {}, rec.get("data") or {},
                          rec.get("protocol") or {})
        (rows[k].runs if rec["status"] == "ok" else rows[k].failed).append(rec)
    tables: dict[tuple, list[Row]] = {}
    for k in sorted(rows):
        tables.setdefault(k[:2], []).append(rows[k])
    for table in tables.values():
        _label(table)
    return tables


def _label(rows: list[Row]):
    """Name each row by its model plus the settings that differ from its other rows of the same model, and
    the data settings that differ across the table (a protocol difference a reader must see)."""
    def flat(r):
        protocol = {f"{group}.{k}": v for group, settings in r.protocol.items() for k, v in settings.items()}
        return {**r.model_config, **{f"data.{k}": v for k, v in r.data.items()}, **protocol}
    def varying(group):
        keys = {k for r in group for k in flat(r)}
        return {k for k in keys if len({canon(flat(r).get(k)) for r in group}) > 1}
    tuned = {s["key"] for r in rows if (s := r.first("tuning"))}  # shown in the table's own `tuned` column
    data_keys = {k for k in varying(rows) if k.startswith(("data.", "optim.", "schedule.", "trainer."))} - tuned
    for r in rows:
        keys = sorted((varying([o for o in rows if o.model == r.model]) | data_keys) - tuned)
        r.label = " ".join(f"{k}={_short(flat(r)[k])}" for k in keys if k in flat(r))


def primary_metric(rows: list[Row]) -> str | None:
    """The metric the records name most often as primary (of a pivoted table: the one at the first pivot
    value, e.g. test/mse@96), else the first metric there is."""
    named = Counter(r["primary_metric"] for row in rows for r in row.runs if r.get("primary_metric"))
    if named:
        return sorted(named, key=lambda m: (-named[m], _order(m, None)))[0]
    metrics = metric_names(rows, None)
    return metrics[0] if metrics else None


def _order(name: str, primary: str | None) -> tuple:
    """The primary metric, then by split; within a split the primary's kind first (every test/mse@n
    before test/mae@n), then by name and n."""
    def parts(metric):
        split, _, base = metric.partition("/")
        at = re.match(r"(.*)@(\d+)$", base)
        return split, at.group(1) if at else base, int(at.group(2)) if at else -1
    split, base, n = parts(name)
    primary_base = parts(primary)[1] if primary else None
    return (name != primary, SPLIT_ORDER.get(split, 9), split, base != primary_base, base, n)


def metric_names(rows: list[Row], primary: str | None) -> list[str]:
    names = {m for row in rows for r in row.runs for m, v in (r.get("metrics") or {}).items() if is_number(v)}
    return sorted(names, key=lambda m: _order(m, primary))


def direction(rows: list[Row], metric: str) -> str | None:
    """"max" or "min" for `metric`, from the records' `metric_directions` (by base name: "mse" covers
    "test/mse@96"); accuracies are "max" in records that predate the field; None when unknown."""
    base = re.sub(r"@\d+$", "", metric.partition("/")[2] or metric)
    for row in rows:
        for r in row.runs:
            found = (r.get("metric_directions") or {}).get(base)
            if found:
                return found
    return "max" if is_accuracy(metric) else None


def at_points(rows: list[Row], primary: str) -> dict[int, str]:
    """{n: metric name} of the `<metric>@<n>` metrics these rows report for the primary metric's split and
    base name (evaluation lengths of test/acc, horizons of test/mse)."""
    stem = re.escape(re.sub(r"@\d+$", "", primary))
    found = (re.fullmatch(rf"{stem}@(\d+)", m) for m in metric_names(rows, None))
    return {int(m.group(1)): m.group(0) for m in found if m}


def _short(value) -> str:
    return value if isinstance(value, str) else canon(value)
