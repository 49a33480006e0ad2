"""The front page's scorecard: every published claim, our interval on it and its verdict (runners/report/verdicts.py)."""
from __future__ import annotations

from collections import Counter

from runners.report.front import anchor
from runners.report.verdicts import VERDICTS, Verdict

COLUMNS = ["claim", "source", "metric", "a − b [95% interval]", "seeds", "verdict", "rows"]
METHOD = ("Each claim a paper makes with a table we cite, and the survey's own claim that Mamba matches the "
          "Transformer in each domain, tested on our records: the difference a − b of the two models' test metric "
          "(in its own units: accuracies as fractions), with a 95% interval from a paired bootstrap over the "
          "training seeds and the test examples (`runners/report/verdicts.py` says how). **Reproduced**: the interval "
          "lies on the side the claim says; **contradicted**: on the other side; **not separable**: it holds "
          "zero (for a 'matches' claim: it crosses the margin), so our scale cannot tell. A 'matches' claim is "
          "contradicted in either direction: the sign of a − b says whether a is better or worse. **Not comparable**: "
          "the reason is given. Every verdict is at our scale, not the paper's.")


def scorecard_blocks(found: list[Verdict], details: str, tables=()) -> list[tuple]:
    """`tables`: the (suite, task) pairs the details page has a table for (a claim on a suite with no records
    links nowhere)."""
    if not found:
        return []
    counts = Counter(v.verdict for v in found)
    rows = [[v.claim["claim"], _source(v.source), f"`{v.claim['metric']}`", _span(v), str(v.seeds or "—"),
             f"**{v.verdict}**" + (f": {v.reason}" if v.reason else ""),
             f"[{v.rows[1]}]({details}#{anchor('task', *v.rows)})" if tuple(v.rows) in tables else "—"]
            for v in found]
    return [("h", 2, "Scorecard: the papers' claims on our records", "scorecard"), ("p", METHOD),
            ("p", ", ".join(f"{counts[k]} {k}" for k in VERDICTS if counts[k]) + f" (of {len(found)} claims; "
                  "`results/verdicts.csv` holds the same table)."),
            ("table", COLUMNS, rows)]


def _span(v: Verdict) -> str:
    if v.low is None:
        return "—"
    margin = f" (margin ±{v.claim['margin']:g})" if v.claim["relation"] == "matches" else ""
    return f"{v.diff:+.3g} [{v.low:+.3g}, {v.high:+.3g}]{margin}"


def _source(source: str) -> str:
    """'file.yaml: Authors, Title (venue), Table 2' -> its citation, without the file name."""
    return source.split(": ", 1)[-1]
