"""The report's front page (results/index.html): the survey's taxonomy, one compact leaderboard per domain with
the papers' numbers beside ours, and the plots. All metrics, tuning trials and commands are on the details
page, one click away.

A domain's leaderboard has a row per (task, model) and, for a pivoted task (a forecasting horizon), per pivot
value: the primary test metric as the mean ± sample std over seeds, beside the first number a cited paper
gives for the same model, task and metric. Ablations are on the details page only: a table whose every row
tells configurations of one model apart (the scan-order suite), and, where a model has several rows, those
not at its registered settings (Graph-Mamba's other node orders). The taxonomy comes from the registry (every
registered variant, run or not).
"""
from __future__ import annotations

import math
import re
from collections import Counter

from zoo.registry import domains

from runners.report.cells import fmt_stat, num, params
from runners.report.plots import paper_scale
from runners.run.records import is_accuracy, is_number
from runners.report.rows import Row, direction, primary_metric

COLUMNS = ["task", "model", "params", "metric", "ours (mean ± std)", "seeds", "**paper**", "details"]
ARROWS = {"max": " ↑", "min": " ↓"}  # which way is better, beside the metric's name


def anchor(*parts) -> str:
    """An HTML id from names (suite, task): letters, digits and _ kept, anything else one '-'."""
    return "-".join(re.sub(r"[^0-9A-Za-z_]+", "-", str(p)).strip("-") for p in parts)


def front_blocks(tables: dict, sources: list[dict], plots: dict, details: str) -> list[tuple]:
    """The front page's blocks after its header. `tables`: {(suite, task): [Row]}; `plots`: {(suite, task):
    [(caption, relative path, absolute path)]}; `details`: the details page's file name."""
    by_domain: dict[str, list] = {}
    for (suite, task), rows in tables.items():
        by_domain.setdefault(domain_of(rows), []).append((suite, task, rows))
    titles = domains()
    order = sorted(by_domain, key=lambda d: (list(titles).index(d) if d in titles else len(titles), d))
    ran = {row.model: domain for domain in order for _, _, rows in by_domain[domain] for row in rows if row.runs}
    blocks = [("h", 2, "The survey's taxonomy: every registered variant", "taxonomy"),
              ("p", "Each variant by the survey section it belongs to and its domain; a linked name has "
                    "results in its domain's leaderboard below."),
              taxonomy_table(ran),
              ("h", 3, "At the papers' sizes", "sizes"),
              ("p", "Each variant built at the size its paper headlines (on PyTorch's meta device), our parameter "
                    "count beside the one the paper publishes; `python -m zoo params --size paper` prints it "
                    "and results/published/params.csv keeps it. A count the papers do not publish, or one "
                    "that counts a different layer, says why."),
              sizes_table()]
    for domain in order:
        entries = by_domain[domain]
        lines, cited = _compact(entries, sources, details)
        blocks += [("h", 2, titles.get(domain, domain), anchor("domain", domain))]
        blocks.append(("table", COLUMNS, lines) if lines else ("p", "No finished runs yet; see the details."))
        if cited:
            blocks.append(("list", [f"**paper [{i}]** — the paper's number, at the paper's scale, not ours: "
                                    f"{src['source']}" for i, src in enumerate(cited, 1)]))
        ablations = [(suite, task, sum(1 for r in rows if r.runs) - len(main_rows(rows))) for suite, task, rows in entries]
        if any(n for *_, n in ablations):
            blocks.append(("p", "Ablations (configurations of one model) are on the details page: " + ", ".join(
                f"[{n} in `{suite}` / `{task}`]({details}#{anchor('task', suite, task)})"
                for suite, task, n in ablations if n) + "."))
        gallery = [plot for suite, task, _ in entries for plot in plots.get((suite, task), [])]
        if gallery:
            blocks.append(("gallery", gallery))
    return blocks


def domain_of(rows: list[Row]) -> str:
    """The domain most of a table's models are registered under."""
    found = Counter((row.first("taxonomy") or {}).get("domain") or "other" for row in rows)
    return found.most_common(1)[0][0] if found else "other"


def taxonomy_table(ran: dict[str, str]) -> tuple:
    """Survey section x domain; each cell the variants registered there (linked where they have results)."""
    import zoo

    cells: dict[tuple, list[str]] = {}
    for name in zoo.list_models():
        tax = zoo.model_info(name).taxonomy
        cells.setdefault((tax["section"], tax["domain"]), []).append(name)
    titles = domains()
    columns = [*titles, *sorted({d for _, d in cells} - set(titles))]
    sections = sorted({s for s, _ in cells}, key=lambda s: (s.lower().startswith("baseline"), s))

    def name(n):
        return f"[`{n}`](#{anchor('domain', ran[n])})" if n in ran else f"`{n}` (not run)"
    rows = [[s] + [", ".join(name(n) for n in cells.get((s, d), [])) or "—" for d in columns] for s in sections]
    return ("table", ["survey section", *(titles.get(d, d) for d in columns)], rows)


def sizes_table() -> tuple:
    from zoo.sizes import size_rows, within

    def published(r):
        if r["published_params"] is None:
            return "—"
        ok = "" if within(r["params"], r["published_params"]) else " (beyond 3%)"
        return f"{r['published_params']:,}{ok}"
    rows = [[f"`{r['name']}`", r["size"], f"{r['params']:,}", published(r), r["source"]] for r in size_rows("paper")]
    return ("table", ["model", "size", "our count", "published", "source"], rows)


def _compact(entries, sources: list[dict], details: str) -> tuple[list[list[str]], list[dict]]:
    lines, cited = [], []
    for suite, task, rows in entries:
        rows = main_rows(rows)
        primary = primary_metric(rows)
        if not primary:
            continue
        pivots = sorted({r["pivot_value"] for row in rows for r in row.runs if is_number(r.get("pivot_value"))})
        base = re.sub(r"@\d+$", "", primary)
        pivot = next((r.get("pivot") for row in rows for r in row.runs if r.get("pivot")), None)
        link = f"[details]({details}#{anchor('task', suite, task)})"
        for at in pivots or [None]:
            metric = primary if at is None else f"{base}@{at}"
            shown = f"{task}, {pivot} {at}" if at is not None else task
            runs_at = {id(row): [r for r in row.runs if at is None or r.get("pivot_value") == at] for row in rows}
            better = direction(rows, metric)
            for row in sorted(rows, key=lambda r: _rank(r, metric, better)):
                stat = row.stat(metric)
                if stat is None:
                    continue
                failed = f" (+{len(row.failed)} failed)" if row.failed else ""
                lines.append([shown, row.model, params(runs_at[id(row)]), f"`{metric}`" + " (%)" * is_accuracy(metric)
                              + ARROWS.get(better, ""),
                              fmt_stat(stat, is_accuracy(metric), stat[2]), f"{stat[2]}{failed}",
                              _paper(sources, task, row.model, metric, cited), link])
    return lines, cited


def main_rows(rows: list[Row]) -> list[Row]:
    """The finished rows a domain's leaderboard shows (the module's docstring says which)."""
    import zoo

    rows = [r for r in rows if r.runs]
    if all(r.label for r in rows):
        return []
    def at_defaults(row):
        siblings = [o.model_config for o in rows if o.model == row.model]
        varying = {k for c in siblings for k in c if len({repr(o.get(k)) for o in siblings}) > 1}
        try:
            defaults = zoo.resolved_config(row.model)
        except (KeyError, ValueError):  # a model this checkout does not register
            return False
        return bool(varying) and all(row.model_config.get(k) == defaults.get(k) for k in varying)
    return [r for r in rows if not r.label or at_defaults(r)]


def _rank(row: Row, metric: str, better: str | None):
    stat = row.stat(metric)
    if not better or not stat or math.isnan(stat[0]):
        return math.inf
    return -stat[0] if better == "max" else stat[0]


def _paper(sources: list[dict], task: str, model: str, metric: str, cited: list[dict]) -> str:
    """The first number a source for `task` gives for `model` on `metric` (at a pivot value: its curve's value
    there, or the one number it gives for the whole task, e.g. LRA's ListOps at its own length), on our scale,
    with its citation's number in `cited` (added if new); '—' when none does."""
    at = re.search(r"@(\d+)$", metric)
    for src in sources:
        scale = paper_scale(src, metric)
        if src["task"] != task or src.get("metric") != re.sub(r"@\d+$", "", metric) or scale is None:
            continue
        entries = [e for e in src["entries"] if e.get("ours") == model]
        for e in entries:
            value = e.get("value") if at is None or "values" not in e else \
                {str(k): v for k, v in e["values"].items()}.get(at.group(1))
            if is_number(value):
                if src not in cited:
                    cited.append(src)
                which = f": {e.get('paper_model')}" if len(entries) > 1 else ""
                shown = f"{scale * value:.1f}" if is_accuracy(metric) else num(value)
                return f"{shown} [{cited.index(src) + 1}{which}]"
    return "—"
