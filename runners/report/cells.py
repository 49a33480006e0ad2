"""How the report writes a number in a table cell (the details page and the front page alike)."""
from __future__ import annotations

import math

from runners.run.records import is_number


def fmt_stat(stat, accuracy: bool, n_row: int) -> str:
    """`mean ± std` (percent for accuracies); n is shown where fewer seeds than the row's reported it."""
    if stat is None:
        return "—"
    mean, std, n = stat
    if accuracy:
        text = f"{100 * mean:.1f} ± " + ("—" if std is None else f"{100 * std:.1f}")
    else:
        text = plus_minus(mean, std)
    return text + (f" (n={n})" if n != n_row else "")


def plus_minus(mean: float, std: float | None) -> str:
    """The std to two significant digits and the mean to the same decimal place (0.3788 ± 0.0047, 3.020 ± 0.018),
    so a column's digits say how far the seeds agree; at most 6 decimals (a std below 1e-5 is "<1e-5")."""
    if std is None or not (math.isfinite(std) and math.isfinite(mean)) or std <= 0:
        return f"{mean:.4g} ± " + ("—" if std is None else f"{std:.4g}")
    decimals = max(0, 1 - math.floor(math.log10(std)))
    if decimals > 6:
        return f"{mean:.6f} ± <1e-5"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def si(x) -> str:
    if not is_number(x):
        return "—"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def count(x) -> str:
    return f"{x:,.0f}" if is_number(x) else "—"


def num(x) -> str:
    return f"{x:g}" if is_number(x) else ("—" if x is None else str(x))


def params(runs: list[dict]) -> str:
    """The parameter count, or its range over the runs (a pivoted row's: a forecaster's head grows with the
    horizon)."""
    counts = sorted({r["params"] for r in runs if is_number(r.get("params"))})
    return "—" if not counts else si(counts[0]) if len(counts) == 1 else f"{si(counts[0])}–{si(counts[-1])}"
