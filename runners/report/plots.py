"""The leaderboard's plots, drawn with matplotlib (Agg) into SVG files.

`task_plots` picks what one task's rows get; the drawing functions below it take plain numbers
(accuracies in percent), so they know nothing about records. Text stays SVG <text> rather than glyph
outlines, so the files are small and their labels can be searched in the HTML page.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from runners.run.records import is_accuracy, is_number  # noqa: E402
from runners.report.rows import at_points  # noqa: E402

PALETTE = plt.get_cmap("tab10").colors
PAPER_MARKERS = ("s", "^", "v", "x", "+", "d", "*", "<", ">")
X_LABELS = {"state_size": "state size (floats carried per sequence, log scale)"}  # else "<field> (log scale)"


def colours(models) -> dict:
    """One colour per model, the same in every plot of a report."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(models)))}


def task_plots(suite: str, task: str, rows: list, primary: str | None, sources: list[dict], plots_dir: Path,
               colour: dict) -> list[tuple[str, Path]]:
    """(caption, file) of the plots for one task's rows: the primary metric against n where they report it
    as `<metric>@<n>` at two n or more (accuracy against evaluation length, MSE against the forecasting
    horizon); accuracy against state size where the task's kind asks for it (`versus`, MQAR) or one model
    ran at several state sizes; otherwise the primary metric as one bar per row."""
    rows = [r for r in rows if r.runs and r.stat(primary)] if primary else []
    if not rows:
        return []
    stem = plots_dir / re.sub(r"[^\w.-]+", "_", f"{suite}--{task}")
    name = {id(r): r.model + (f" ({r.label})" if r.label else "") for r in rows}
    pct = is_accuracy(primary)
    ylabel = f"{primary} (%)" if pct else primary
    ours = "ours: mean ± std over seeds"
    lengths = at_points(rows, primary)
    pivot = next((r.first("pivot") for r in rows if r.first("pivot")), None)
    # what n counts when the data names it (e.g. node orders averaged), else evaluation length
    counted = next((r.data["points_axis"] for r in rows if r.data.get("points_axis")), None)
    trained = {r.data.get("seq_len") for r in rows}
    if lengths and not (pivot or counted) and len(trained) == 1 and is_number(seq_len := trained.pop()):
        lengths.setdefault(int(seq_len), primary)  # the plain metric is measured at the training length
    if len(lengths) >= 2:
        series = []
        for r in rows:
            stats = [(n, r.stat(m)) for n, m in sorted(lengths.items()) if r.stat(m)]
            if stats:
                k = 100.0 if pct else 1.0
                series.append(dict(label=name[id(r)], colour=colour[r.model], x=[n for n, _ in stats],
                                   mean=[k * s[0] for _, s in stats], std=[k * (s[1] or 0) for _, s in stats]))
        paper, flat = [], False
        # a row one paper links to our model is drawn from that paper only, not again from another's table
        linked = {e.get("paper_model") for src in sources for e in src["entries"] if e.get("ours")}
        for src in sources:
            if src.get("metric", primary).split("@")[0] != primary.split("@")[0]:
                continue  # e.g. the paper's MAE table beside our MSE plot
            scale = paper_scale(src, primary)
            for e in src["entries"] if scale is not None else []:
                if not e.get("ours") and e.get("paper_model") in linked:
                    continue
                values = e.get("values") or {}
                if not values and pivot and is_number(e.get("value")):  # one number at the paper's own setting
                    values, flat = {min(lengths): e["value"], max(lengths): e["value"]}, True
                # only over the lengths we evaluated: the paper's run to 2^20 would squash ours into a corner
                points = sorted((int(k), scale * v) for k, v in values.items()
                                if is_number(v) and min(lengths) <= int(k) <= max(lengths))
                if points:
                    paper.append(dict(label=e.get("paper_model", "?"), colour=colour.get(e.get("ours")),
                                      x=[x for x, _ in points], y=[y for _, y in points]))
        base = primary.split("@")[0]
        if pivot or counted:  # e.g. MSE against the forecasting horizon
            axis, train = f"{pivot or counted} (log2 scale)", set()
            what = f"{base} against {pivot or counted}"
        else:
            unit = next((r.first("throughput_unit") for r in rows if r.first("throughput_unit")), "tokens")
            axis = f"evaluation sequence length ({unit}, log2 scale)"
            train = {r.data["seq_len"] for r in rows if is_number(r.data.get("seq_len"))}
            what = f"{base} against evaluation length"
        path = length_plot(stem.with_name(stem.name + "--length.svg"), f"{task} ({suite}): {what}",
                           f"{base} (%)" if pct else base, series, train, paper, axis, pct)
        return [(f"{task}: {what} ({ours}, shaded)" + ("; dotted: our training length" if train else "")
                 + (f"; dashed: the paper's numbers at the same {pivot or counted or 'lengths'}" if paper else "")
                 + (f" (flat: a paper's one number, at its own {pivot})" if flat else ""), path)]
    models = {r.model for r in rows}
    # a model run at several state sizes, and nothing else varied between its rows (else, e.g. scan orders
    # sharing one state size, it is bars)
    sizes = {m: [r.first("state_size") for r in rows if r.model == m] for m in models}
    by_state = any(len(set(s)) > 1 and len(set(s)) == len(s) for s in sizes.values())
    # the record field the task's kind asks to plot against (MQAR: state_size)
    versus = next((r.first("versus") for r in rows if r.first("versus")), "state_size" if by_state else None)
    if versus:
        points = [dict(model=r.model, colour=colour[r.model], x=r.first(versus), mean=_scaled(r, primary)[0],
                       std=_scaled(r, primary)[1]) for r in rows if is_number(r.first(versus))]
        if points:
            what = versus.replace("_", " ")
            path = versus_plot(stem.with_name(f"{stem.name}--{versus}.svg"), f"{task} ({suite}): accuracy vs {what}",
                               ylabel, points, X_LABELS.get(versus, f"{what} (log scale)"))
            return [(f"{task}: {primary} against {what}, one point per model configuration ({ours})", path)]
    bars = []
    for r in rows:
        mean, std = _scaled(r, primary)
        paper = [scale * e["value"] for src in sources if src.get("metric") == primary
                 and (scale := paper_scale(src, primary)) is not None
                 for e in src["entries"] if e.get("ours") == r.model and is_number(e.get("value"))]
        bars.append(dict(label=name[id(r)], colour=colour[r.model], mean=mean, std=std,
                         paper=paper[0] if paper else None))
    path = bar_plot(stem.with_name(stem.name + "--bars.svg"), f"{task} ({suite}): {primary}, mean ± std over seeds",
                    ylabel, bars, pct)
    marked = any(b["paper"] is not None for b in bars)
    return [(f"{task}: {primary} per model ({ours})" + ("; diamonds: the paper's value" if marked else ""), path)]


def paper_scale(src: dict, metric: str) -> float | None:
    """Factor that puts a published value on our plotted scale (percent for accuracies), or None if the
    units do not say how."""
    unit = str(src.get("unit", "")).strip().lower()
    if is_accuracy(metric):
        return {"percent": 1.0, "%": 1.0, "fraction": 100.0}.get(unit)
    return None if unit in ("percent", "%") else 1.0


def _scaled(row, metric: str) -> tuple[float, float]:
    mean, std, _ = row.stat(metric)
    k = 100.0 if is_accuracy(metric) else 1.0
    return k * mean, k * (std or 0.0)


def length_plot(path: Path, title: str, ylabel: str, series: list[dict], train_lengths, paper: list[dict],
                xlabel: str = "evaluation sequence length (tokens, log2 scale)", percent: bool = True) -> Path:
    """A metric against n (evaluation length, horizon) on a log2 axis.

    series: {label, colour, x, mean, std} per model row (a ±std band around the mean);
    paper: {label, colour, x, y} per published line, drawn dashed.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    low, high = (0.0, 100.0) if percent else (-math.inf, math.inf)
    for s in series:
        lo = [max(m - d, low) for m, d in zip(s["mean"], s["std"])]
        hi = [min(m + d, high) for m, d in zip(s["mean"], s["std"])]
        ax.plot(s["x"], s["mean"], marker="o", color=s["colour"], label=s["label"])
        ax.fill_between(s["x"], lo, hi, color=s["colour"], alpha=0.2, linewidth=0)
    for p, marker in zip(paper, PAPER_MARKERS * len(paper)):  # markers tell apart papers' models we did not run
        ax.plot(p["x"], p["y"], linestyle="--", marker=marker, color=p["colour"] or "grey", alpha=0.8,
                label=f"paper: {p['label']}")
    for i, length in enumerate(sorted(train_lengths)):
        ax.axvline(length, color="black", linestyle=":", label="our training length" if i == 0 else None)
    ax.set_xscale("log", base=2)
    _tick_at(ax, {x for s in series for x in s["x"]} | set(train_lengths))
    ax.set_xlabel(xlabel)
    return _finish(fig, ax, path, title, ylabel, percent=percent)


def versus_plot(path: Path, title: str, ylabel: str, points: list[dict], xlabel: str) -> Path:
    """Zoology-style accuracy against a size (recurrent state size): one point per (model, configuration).

    points: {model, colour, x, mean, std}; a model's points are joined in order of state size.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for model in sorted({p["model"] for p in points}):
        mine = sorted((p for p in points if p["model"] == model), key=lambda p: p["x"])
        ax.errorbar([p["x"] for p in mine], [p["mean"] for p in mine], yerr=[p["std"] for p in mine],
                    marker="o", capsize=3, color=mine[0]["colour"], label=model)
    ax.set_xscale("log")
    _tick_at(ax, {p["x"] for p in points})
    ax.set_xlabel(xlabel)
    return _finish(fig, ax, path, title, ylabel, percent=True)


def bar_plot(path: Path, title: str, ylabel: str, bars: list[dict], percent: bool) -> Path:
    """One bar per model row with ±std error bars; the paper's value, where there is one, as a marker.

    bars: {label, colour, mean, std, paper (a number or None)}.
    """
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(bars) + 2), 4.5))
    xs = range(len(bars))
    ax.bar(xs, [b["mean"] for b in bars], yerr=[b["std"] for b in bars], capsize=4, color=[b["colour"] for b in bars])
    marked = [(x, b["paper"]) for x, b in zip(xs, bars) if b["paper"] is not None]
    if marked:
        ax.scatter(*zip(*marked), marker="D", s=40, color="black", zorder=3, label="paper's value (not ours)")
    ax.set_xticks(list(xs), [b["label"] for b in bars], rotation=20, ha="right")
    ax.set_xlabel("model")
    return _finish(fig, ax, path, title, ylabel, percent=percent)


def _tick_at(ax, values):
    """Ticks at the measured values, written as plain numbers: "4,352" reads better than "4×10³"."""
    values = sorted(values)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xticks(values, [f"{v:,.0f}" for v in values])
    ax.margins(x=0.05)


def _finish(fig, ax, path: Path, title: str, ylabel: str, percent: bool) -> Path:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(-2, 102)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    path = Path(path)
    # A fixed salt keeps ids stable between builds and distinct between the plots of one page.
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": path.stem}):
        fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return path
