"""What the scaling curves say: the log-log slope of each cost over the long end of its curve, the axis value
where the Mamba model becomes cheaper than its baseline, and the baseline's cost over Mamba's at the largest
value both were measured at; and one figure per domain.
"""
from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path

METRICS = {"seconds": "time (s)", "peak_mb": "peak memory (MB)"}
LONG_END = 3  # points the exponent is fitted over
SUMMARY = ("pair", "size", "axis", "power", "mode", "metric", "mamba", "baseline", "mamba_params", "baseline_params",
           "mamba_exponent", "baseline_exponent", "crossover", "crossover_note", "largest_shared", "ratio_at_largest",
           "mamba_largest")


def curve(rows: list[dict], model: str, metric: str) -> list[tuple[float, float]]:
    """(axis value, cost) of the rows measured ('ok') with a positive cost, by axis value."""
    return sorted((float(r["value"]), float(r[metric])) for r in rows
                  if r["model"] == model and r["status"] == "ok" and r[metric] not in ("", None)
                  and float(r[metric]) > 0)


def exponent(points: list[tuple[float, float]], n: int = LONG_END) -> float | None:
    """The least-squares slope of log cost against log value over the last `n` points (None under 2)."""
    tail = points[-n:]
    if len(tail) < 2:
        return None
    xs, ys = [math.log(x) for x, _ in tail], [math.log(y) for _, y in tail]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def crossover(mamba: list[tuple], baseline: list[tuple]) -> tuple[float | None, str]:
    """(value, note): from where on Mamba costs no more than the baseline at every shared value, interpolated
    on the log-log curves between the last value where it costs more and the next."""
    base = dict(baseline)
    ratios = [(x, y / base[x]) for x, y in mamba if x in base]
    if not ratios:
        return None, "no shared value"
    dearer = [i for i, (_, r) in enumerate(ratios) if r > 1]
    if not dearer:
        return ratios[0][0], "cheaper at every value"
    j = dearer[-1]
    if j == len(ratios) - 1:
        return None, "dearer at the largest shared value"
    (x0, r0), (x1, r1) = ratios[j], ratios[j + 1]
    t = math.log(r0) / (math.log(r0) - math.log(r1))
    return math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))), "interpolated"


def summarise(rows: list[dict], powers: dict | None = None) -> list[dict]:
    """One row per (pair, size, axis, mode, metric). The exponents are against the sequence length, which grows
    as the axis to `powers[axis]` (default 1; an image's side: 2, its patches grow as the side squared)."""
    out = []
    groups = dict.fromkeys((r["pair"], r["size"], r["axis"], r["mode"]) for r in rows)
    for pair, size, axis, mode in groups:
        mine = [r for r in rows if (r["pair"], r["size"], r["axis"], r["mode"]) == (pair, size, axis, mode)]
        roles = {r["role"]: r["model"] for r in mine}
        if set(roles) != {"mamba", "baseline"}:
            continue
        for metric in METRICS:
            m, b = curve(mine, roles["mamba"], metric), curve(mine, roles["baseline"], metric)
            shared = sorted(set(dict(m)) & set(dict(b)))
            cross, note = crossover(m, b)
            power = (powers or {}).get(axis, 1)
            per_token = lambda e: None if e is None else e / power  # noqa: E731
            params = {}  # at the smallest value (a position table or an input map grows with some axes)
            for r in sorted(mine, key=lambda r: float(r["value"])):
                if r.get("params"):
                    params.setdefault(r["role"], r["params"])
            out.append(dict(pair=pair, size=size, axis=axis, power=power, mode=mode, metric=metric,
                            mamba=roles["mamba"], baseline=roles["baseline"], mamba_params=params.get("mamba", ""),
                            baseline_params=params.get("baseline", ""), mamba_exponent=_r(per_token(exponent(m))),
                            baseline_exponent=_r(per_token(exponent(b))), crossover=_r(cross), crossover_note=note,
                            largest_shared=_value(shared[-1] if shared else None),
                            ratio_at_largest=_r(dict(b)[shared[-1]] / dict(m)[shared[-1]] if shared else None),
                            mamba_largest=_value(m[-1][0] if m else None)))
    return out


def write_summary(summary: list[dict], path: Path):
    with Path(path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY)
        writer.writeheader()
        writer.writerows(summary)


def describe(domain: str, summary: list[dict]) -> str:
    lines = [f"{domain}: exponent (log-log slope against the sequence length over the last {LONG_END} points), "
             f"crossover, baseline / Mamba at the largest shared value"]
    for s in summary:
        ratio = f"{s['ratio_at_largest']}x at {s['axis']}={s['largest_shared']}" if s["largest_shared"] != "" else "-"
        where = f"{s['crossover']} ({s['crossover_note']})" if s["crossover"] != "" else s["crossover_note"]
        lines.append(f"  {s['mamba']} vs {s['baseline']} [{s['size']}] {s['mode']} {s['metric']}: exponents "
                     f"{s['mamba_exponent']} vs {s['baseline_exponent']}; crossover {where}; {ratio}")
    return "\n".join(lines)


def plot(domain: str, rows: list[dict], claim: str, path: Path) -> Path:
    """One figure: a row per (pair, axis), a column per (mode, metric), log-log; a line per model and size."""
    from runners.report.plots import colours, plt  # the report's palette, on the Agg backend

    panels = list(dict.fromkeys((r["pair"], r["axis"]) for r in rows))
    columns = [(mode, metric) for metric in METRICS for mode in ("train", "infer")]
    fig, axes = plt.subplots(len(panels), len(columns), figsize=(4 * len(columns), 3.2 * len(panels)),
                             squeeze=False)
    colour = colours(r["model"] for r in rows)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    styles = ["-", "--", ":", "-."]
    for i, (pair, axis) in enumerate(panels):
        for j, (mode, metric) in enumerate(columns):
            ax = axes[i][j]
            mine = [r for r in rows if r["pair"] == pair and r["axis"] == axis and r["mode"] == mode]
            for model in dict.fromkeys(r["model"] for r in mine):
                for k, size in enumerate(sizes):
                    points = curve([r for r in mine if r["size"] == size], model, metric)
                    if points:
                        ax.plot(*zip(*points), marker="o", markersize=3, color=colour[model],
                                linestyle=styles[k % len(styles)], label=f"{model} ({size})")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            ax.set_title(f"{'training step' if mode == 'train' else 'inference'}: {METRICS[metric]}", fontsize=9)
            if j == 0 and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.suptitle(f"{domain}: cost against {', '.join(dict.fromkeys(a for _, a in panels))}\n"
                 + "\n".join(textwrap.wrap(f"papers: {claim}", 140)), fontsize=9)
    fig.tight_layout()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": Path(path).stem}):  # text as text: small files
        fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def _value(x):
    return "" if x is None else int(x) if float(x).is_integer() else x


def _r(x):
    return "" if x is None else float(f"{x:.3g}")
