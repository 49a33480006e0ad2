"""Leaderboard report: results/index.html (the front page), details.html, leaderboard.md and plots/, offline,
from the records (and, for the front page's taxonomy, the registry of variants).

    python -m runners.report [--records results/records] [--published results/published] [--out results]

A row is one (suite, task, model, model config, data) over its seeds. Its metrics are the mean ± sample std
(n - 1) over the seeds whose runs finished; failed runs are listed apart and never averaged in. Of records
with the same config hash, or of the same run (the row plus the seed), only the newest counts. The papers'
own numbers (results/published/*.yaml) stand beside ours, always labelled as the paper's, with the
citation and the scale they were measured at.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import math
from collections import Counter
from pathlib import Path

from runners.report import plots
from runners.suite import tuning
from runners.report.cells import count, fmt_stat, num, params, si
from runners.report.front import anchor, front_blocks
from runners.report.render import to_html, to_markdown
from runners.report.scorecard import scorecard_blocks
from runners.report.verdicts import verdicts, write_csv
from runners.run.identity import newest
from runners.run.records import is_accuracy, is_number, read_records
from runners.report.rows import (Row, direction, group_rows, mean_std, metric_names, pivoted, primary_metric,
                                 read_published, split_tuned)

EMPTY = "No records yet — run `make reproduce`."
DETAILS = "details.html"


def build_report(records_dir, published_dir, out_dir) -> dict:
    """Write index.html (the front page, runners.front), details.html (every table), leaderboard.md (both, in
    that order), verdicts.csv (runners.report.verdicts) and plots/*.svg under `out_dir`.

    Returns {"markdown": path, "html": path, "details": path, "verdicts": path, "plots": [paths]}.
    """
    records = read_records(Path(records_dir))
    sources = read_published(Path(published_dir))
    found = verdicts(Path(records_dir), Path(published_dir))
    out = Path(out_dir)
    try:
        (out / "plots").mkdir(parents=True, exist_ok=True)
        front, details, written = report_blocks(records, sources, out, found)
        write_csv(found, out / "verdicts.csv")
        for stale in set((out / "plots").glob("*.svg")) - set(written):
            stale.unlink()
        md, page, more = out / "leaderboard.md", out / "index.html", out / DETAILS
        md.write_text(to_markdown(front + details))
        page.write_text(to_html(front, "mambazoo: the survey's comparisons"))
        more.write_text(to_html(details, "mambazoo leaderboard: details"))
    except OSError as e:
        raise SystemExit(f"report: cannot write the report to {e.filename or out}: {e.strerror or e}") from None
    return {"markdown": md, "html": page, "details": more, "verdicts": out / "verdicts.csv", "plots": written}


def report_blocks(records: list[dict], sources: list[dict], out: Path, found=()) -> tuple[list[tuple], list[tuple],
                                                                                         list[Path]]:
    """The front page's and the details page's blocks (see runners.render) and the plot files drawn for them."""
    kept = newest(records)
    shown, trials = split_tuned(kept)
    tables = group_rows(pivoted(shown))
    colour = plots.colours(rec["model"] for rec in kept)
    blocks = [("h", 1, "mambazoo leaderboard: details"), ("p", "Back to the [front page](index.html). "
                                                              + _provenance(records, kept)),
              ("p", "Our metrics are the mean ± sample std over seeds (the `seeds` column says how many; "
                    "with one seed the std is —); accuracies are in %. Failed runs are listed apart and "
                    "never averaged in. Columns and tables marked **paper** hold the cited papers' own "
                    "numbers, measured at the papers' scale, not ours."),
              ("p", BOLD_RULE)]
    written, drawn = [], {}
    if not kept:
        blocks.append(("p", EMPTY))
    suite = None
    for (s, task), rows in tables.items():  # sorted by suite, then task
        if s != suite:
            suite = s
            blocks.append(("h", 2, f"Suite `{suite}`", anchor("suite", suite)))
        mine = [src for src in sources if src["task"] == task]
        primary = primary_metric(rows)
        blocks += [("h", 3, f"Task `{task}`", anchor("task", suite, task)), *_task_table(rows, primary, mine)]
        blocks += _tuning_blocks(trials.get((s, task), []))
        for caption, path in plots.task_plots(suite, task, rows, primary, mine, out / "plots", colour):
            plot = (caption, f"plots/{path.name}", str(path))
            blocks.append(("plot", *plot))
            drawn.setdefault((suite, task), []).append(plot)
            written.append(path)
        blocks += _published_blocks(mine)
    benchmarks = sorted((out / "benchmarks").glob("*.svg"))
    if benchmarks:  # drawn by the benchmarks themselves (make bench-decode), not from records
        blocks += [("h", 2, "Benchmarks", "benchmarks"), ("p", "Measured by the benchmark commands, not by suite "
                    "runs; results/benchmarks/README.md says how, on which machine, and what they mean.")]
        for path in benchmarks:
            blocks.append(("plot", f"`{path.name}` (results/benchmarks/)", f"benchmarks/{path.name}", str(path)))
            blocks += _summary_table(path.with_name(path.stem + "_summary.csv"))
    failed = [(row, rec) for rows in tables.values() for row in rows for rec in row.failed]
    if failed:
        blocks += [("h", 2, "Failed runs", "failed"), ("p", "Not counted in any mean above."), _failed_table(failed)]
    if kept:
        blocks += [("h", 2, "Taxonomy", "models"), _taxonomy_table(kept)]
    unrun = [src for src in sources if src["task"] not in {task for _, task in tables}]
    if unrun:
        blocks.append(("h", 2, "The papers' numbers for tasks we have not run yet", "unrun"))
        for task in sorted({src["task"] for src in unrun}):
            blocks += [("h", 3, f"Task `{task}`", anchor("paper", task)),
                       *_published_blocks([s for s in unrun if s["task"] == task])]
    return _front(records, kept, tables, sources, drawn, benchmarks, failed, found), blocks, written


def _summary_table(path: Path) -> list[tuple]:
    """The table a benchmark wrote beside its plot (<plot>_summary.csv), if it wrote one."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return [("p", f"`{path.name}`:"), ("table", rows[0], [[c or "—" for c in r] for r in rows[1:]])] if rows else []


def _front(records, kept, tables, sources, drawn, benchmarks, failed, found) -> list[tuple]:
    head = [("h", 1, "mambazoo: the survey's comparisons"), ("p", _provenance(records, kept)),
            ("p", "One compact leaderboard per domain: a row is a model on one task, its primary test metric "
                  "the mean ± sample std over its seeds (accuracies in %; ↑: higher is better, ↓: lower is "
                  "better), beside the number the cited paper "
                  "gives for that model where it gives one, **measured at the paper's scale, not ours**. "
                  "Click a column's header to sort by it. Every metric, the tuning trials, the commands that "
                  f"reproduce each row and the papers' full tables are on the [details page]({DETAILS})"
                  + (f"; so are the [benchmarks]({DETAILS}#benchmarks)" if benchmarks else "")
                  + (f" and the [{len(failed)} failed runs]({DETAILS}#failed)" if failed else "") + ".")]
    return head + ([("p", EMPTY)] if not kept else []) + scorecard_blocks(list(found), DETAILS, set(tables)) \
        + front_blocks(tables, sources, drawn, DETAILS)


def _provenance(records: list[dict], kept: list[dict]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    status = Counter(r["status"] for r in kept)
    devices = sorted({str(r["device"]) for r in kept if r.get("device")}) or ["—"]
    commits = sorted({str(r["git_commit"]) for r in kept if r.get("git_commit")}) or ["—"]
    superseded = len(records) - len(kept)
    return (f"Built {now} from {len(kept)} records ({status['ok']} ok, {status['failed']} failed"
            + (f"; {superseded} superseded by newer runs of the same config" if superseded else "") + ")"
            + f" · devices: {'; '.join(devices)} · git commits: {', '.join(commits)}")


BOLD_RULE = ("A test metric is **bold** only where its row beats every other row by more than the spread: the "
             "gap between the best mean and the second best must exceed the sum of their seed standard "
             "deviations, plus, for accuracies, twice the binomial standard error of the difference, "
             "sqrt(p1(1-p1)/n + p2(1-p2)/n) with n the number of test sequences. Where no row clears that "
             "margin, or the noise cannot be estimated (one seed, and for an error metric such as MSE no "
             "binomial term to fall back on), nothing is bold.")


def bold_winner(rows: list[Row], metric: str, better: str = "max") -> Row | None:
    """The row whose mean of `metric` beats every other row by more than the spread (BOLD_RULE); `better`
    says which direction wins."""
    sign = 1.0 if better == "max" else -1.0
    stats = sorted(((st, r) for r in rows if (st := r.stat(metric)) and not math.isnan(st[0])),
                   key=lambda sr: -sign * sr[0][0])
    if len(stats) < 2:
        return None
    (m1, s1, _), top = stats[0]
    (m2, s2, _), second = stats[1]
    n = (top.data.get("n_test") or second.data.get("n_test")) if is_accuracy(metric) else None
    if not (is_number(n) and n > 0) and (s1 is None or s2 is None):
        return None  # neither the test-set size nor the seeds say how large the noise is
    binomial = math.sqrt((m1 * (1 - m1) + m2 * (1 - m2)) / n) if is_number(n) and n > 0 else 0.0
    return top if sign * (m1 - m2) > (s1 or 0.0) + (s2 or 0.0) + 2 * binomial else None


def _task_table(rows: list[Row], primary: str | None, sources: list[dict]) -> list[tuple]:
    rows = [r for r in rows if r.runs]
    if not rows:
        return [("p", "No finished runs yet; see Failed runs.")]
    better = direction(rows, primary) if primary else None
    if better:  # ranked only where the records say which direction is better
        def rank(r):
            stat = r.stat(primary)
            return (-stat[0] if better == "max" else stat[0]) if stat and not math.isnan(stat[0]) else math.inf
        rows = sorted(rows, key=rank)
    metrics = metric_names(rows, primary)
    scalar = [(i, src) for i, src in enumerate(sources, 1) if any("value" in e for e in src["entries"])]
    labelled = any(r.label for r in rows)
    tuned = any(r.first("tuning") for r in rows)
    until_solved = any(((r.first("protocol") or {}).get("trainer") or {}).get("solved_at") for r in rows)
    directions = {m: direction(rows, m) for m in metrics}
    winners = {m: bold_winner(rows, m, directions[m]) for m in metrics if m.startswith("test/") and directions[m]}
    columns = (["model"] + ["config"] * labelled + ["tuned"] * tuned
               + ["survey section", "mechanism", "params", "state size", "seeds"] + ["steps"] * until_solved
               + [m + " (%)" * is_accuracy(m) for m in metrics]
               + [f"**paper [{i}]** {src.get('metric', '')} ({src.get('unit', '?')})" for i, src in scalar]
               + [f"{_unit(rows)}/s", "peak mem (MB)", "scan backend", "reproduce"])
    table = []
    for r in rows:
        tax = r.first("taxonomy") or {}
        n = len(r.seeds())
        cells = ([r.model] + [r.label] * labelled + [_tuned_cell(r)] * tuned
                 + [tax.get("section", "—"), tax.get("mechanism", "—"), params(r.runs),
                    count(r.first("state_size")), str(n) + (f" (+{len(r.failed)} failed)" if r.failed else "")]
                 + [_steps(r)] * until_solved
                 + [_bold_if(fmt_stat(r.stat(m), is_accuracy(m), n), winners.get(m) is r) for m in metrics]
                 + [_paper_value(src, r.model) for _, src in scalar]
                 + [si(_throughput(r)), count(_mean_of(r, "peak_mem_mb")), _backends(r),
                    _command(r)])
        table.append(cells)
    note = f"Primary metric: `{primary}`." if primary else "No metric reported."
    return [("table", columns, table), ("p", note)]


def _steps(row: Row) -> str:
    """The steps each seed trained, in seed order: a run trained until solved stops early."""
    runs = sorted(row.runs, key=lambda r: str(r.get("seed")))
    return ", ".join(count(r["steps"]) if is_number(r.get("steps")) else "—" for r in runs)


def _bold_if(text: str, bold: bool) -> str:
    return f"**{text}**" if bold else text


def _tuned_cell(row: Row) -> str:
    """The chosen value, or, for a pivoted row whose horizons chose differently, each with its pivot value."""
    s = row.first("tuning")
    if not s:
        return "—"
    chosen = {}
    for r in row.runs:
        chosen[r.get("pivot_value")] = num(tuning.value_of(r, s["key"]))
    if len(set(chosen.values())) == 1:
        return f"{s['key']}={next(iter(chosen.values()))}"
    return f"{s['key']}: " + ", ".join(f"{chosen[k]} @{k}" for k in sorted(chosen, key=lambda k: k if is_number(k) else math.inf))


def _solved_in(steps: list | None) -> str:
    if not steps or None in steps:
        return ""
    return f" (solved in {math.fsum(steps) / len(steps):,.0f} steps)"


def _tuning_blocks(groups: list[dict]) -> list[tuple]:
    """Every trial of the per-model tuning: the validation metric at each grid value, the choice in bold."""
    if not groups:
        return []
    s = groups[0]["spec"]
    values = s["values"]
    columns = ["model"] + [f"{s['metric']} at {s['key']}={num(v)}" for v in values] + ["chosen"]
    rows = []
    for g in groups:
        accuracy = is_accuracy(g["spec"]["metric"])
        cells = [_bold_if(fmt_stat(mean_std(g["scores"].get(v) or []), accuracy, len(g["spec"]["seeds"]))
                          + _solved_in(g["steps"].get(v)), v == g["chosen"]) for v in values]
        chosen = num(g["chosen"]) if g["chosen"] is not None else "**none: no trial finished**"
        rows.append([g["model"] + (f" ({g['label']})" if g["label"] else "")] + cells + [chosen])
    return [("p", f"Tuning: each model trained at every {s['key']} of the grid on seed(s) "
                  f"{', '.join(map(str, s['seeds']))}; the value with the best mean {s['metric']} ({s['mode']}) "
                  f"was kept, and the other seeds trained at it only"
                  + ("; where a task trains until solved, a value that solved it on every tuning seed came first, "
                     "the fewest steps first" if any(g["steps"] for g in groups) else "")
                  + ". The rows above are at the kept value."),
            ("table", columns, rows)]


def _published_blocks(sources: list[dict]) -> list[tuple]:
    blocks = []
    for i, src in enumerate(sources, 1):
        metric, unit = src.get("metric", "?"), src.get("unit", "?")
        blocks.append(("p", f"**paper [{i}] — the paper's numbers, not ours.** {src['source']}. "
                            f"Measured at: {src.get('scale', 'scale not stated')}."
                            + (f" {src['url']}" if src.get("url") else "") + f" (from `{src['file']}`)"))
        scalar = [e for e in src["entries"] if "value" in e]
        if scalar:
            params = any("params" in e for e in scalar)
            blocks.append(("table", ["paper's model", "our model", f"paper's {metric} ({unit})"]
                           + ["paper's params"] * params,
                           [[str(e.get("paper_model", "?")), str(e.get("ours") or "—"), num(e["value"])]
                            + [num(e.get("params"))] * params for e in scalar]))
        curves = [e for e in src["entries"] if isinstance(e.get("values"), dict)]
        if curves:
            lengths = sorted({int(k) for e in curves for k in e["values"]})
            columns = ["paper's model", "our model"] + [f"paper's {metric}@{n} ({unit})" for n in lengths]
            blocks.append(("table", columns,
                           [[str(e.get("paper_model", "?")), str(e.get("ours") or "—")]
                            + [num({int(k): v for k, v in e["values"].items()}.get(n)) for n in lengths]
                            for e in curves]))
        if src.get("findings"):
            blocks.append(("list", [f"paper's finding: {f}" for f in src["findings"]]))
        notes = src.get("notes") or []
        if notes:
            blocks.append(("list", [f"note: {n}" for n in ([notes] if isinstance(notes, str) else notes)]))
    return blocks


def _failed_table(failed: list[tuple[Row, dict]]) -> tuple:
    rows = [[row.suite, row.task, row.model + (f" ({row.label})" if row.label else ""), str(rec.get("seed", "—")),
             _error_line(rec), str(rec.get("finished_at", "—")),
             f"`{rec['command']}`" if rec.get("command") else "—"] for row, rec in failed]
    return ("table", ["suite", "task", "model", "seed", "error", "finished", "command"], rows)


def _taxonomy_table(records: list[dict]) -> tuple:
    newest_first = sorted(records, key=lambda r: str(r.get("finished_at", "")), reverse=True)
    tax = {}
    for rec in newest_first:
        if rec["model"] not in tax or (not tax[rec["model"]] and rec.get("taxonomy")):
            tax[rec["model"]] = rec.get("taxonomy") or {}
    keys = ("domain", "section", "mechanism", "paper", "year")
    rows = sorted(([m] + [str(t.get(k, "—")) for k in keys] for m, t in tax.items()),
                  key=lambda r: (r[1], r[2], r[0]))
    return ("table", ["model", "domain", "survey section", "mechanism", "paper", "year"], rows)


# ---- formatting (the shared cells are in runners.cells) ------------------------------------------

def _paper_value(src: dict, model: str) -> str:
    return next((num(e["value"]) for e in src["entries"] if e.get("ours") == model and "value" in e), "—")


def _error_line(rec: dict) -> str:
    lines = str(rec.get("error") or "").strip().splitlines()
    return lines[0][:300] if lines else "no error recorded"


def _mean_of(row: Row, key: str):
    vals = [r[key] for r in row.runs if is_number(r.get(key))]
    return math.fsum(vals) / len(vals) if vals else None


def _throughput(row: Row):
    """Mean training throughput; records before `throughput` existed counted tokens as `tokens_per_s`."""
    vals = [v for r in row.runs if is_number(v := r.get("throughput", r.get("tokens_per_s")))]
    return math.fsum(vals) / len(vals) if vals else None


def _unit(rows: list[Row]) -> str:
    units = {r.get("throughput_unit", "tokens") for row in rows for r in row.runs}
    return units.pop() if len(units) == 1 else "units"


def _backends(row: Row) -> str:
    ops: dict[str, set] = {}
    for r in row.runs:
        for op, used in (r.get("scan_backend") or {}).items():
            ops.setdefault(op, set()).update(used if isinstance(used, dict) else [str(used)])
    return "; ".join(f"{op}: {'+'.join(sorted(b))}" for op, b in sorted(ops.items())) or "—"


def _command(row: Row) -> str:
    runs = sorted(row.runs, key=lambda r: str(r.get("seed")))
    cmd = next((r["command"] for r in runs if r.get("command")), None)
    seeds = ",".join(str(s) for s in row.seeds())
    return f"`{cmd}` (seeds: {seeds})" if cmd else f"— (seeds: {seeds})"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.report", description=__doc__.split("\n")[0])
    p.add_argument("--records", default="results/records", help="where the run records (*.jsonl) are")
    p.add_argument("--published", default="results/published", help="the papers' numbers (*.yaml)")
    p.add_argument("--out", default="results", help="where leaderboard.md, index.html and plots/ go")
    a = p.parse_args(argv)
    written = build_report(a.records, a.published, a.out)
    print(f"wrote {written['markdown']}, {written['html']} and {len(written['plots'])} plots in "
          f"{Path(a.out) / 'plots'}")
