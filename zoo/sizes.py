"""Every variant at the sizes its paper headlines, counted against the parameter counts the papers publish.

A size is built on the `meta` device, so a 353M-parameter model costs no memory and no time to count.
"""
from __future__ import annotations

import csv
import io

import torch

from .registry import count_parameters, create_model, list_models, model_info, size_spec

TOLERANCE = 0.03
COLUMNS = ("name", "size", "params", "published_params", "source")


def count_on_meta(name: str, size: str) -> int:
    """Trainable parameters of model `name` at `size`, built with the data shapes (`io`) the size names; less
    the submodule the published count leaves out (`published.without`, e.g. the classifier head)."""
    spec = size_spec(name, size)
    with torch.device("meta"):
        model = create_model(name, size=spec["name"], **spec["io"])
    without = spec["published"].get("without")
    return count_parameters(model) - (count_parameters(getattr(model, without)) if without else 0)


def size_rows(size: str = "paper") -> list[dict]:
    """One row per (model, size): 'paper' lists every named size of every model, another name that size."""
    rows = []
    for name in list_models():
        sizes = model_info(name).sizes
        for key in (sizes if size == "paper" else [s for s in sizes if s == size]):
            published = size_spec(name, key)["published"]
            rows.append({"name": name, "size": key, "params": count_on_meta(name, key),
                         "published_params": published.get("params"), "source": published.get("source", "")})
    if not rows:
        known = sorted({s for n in list_models() for s in model_info(n).sizes})
        raise ValueError(f"no model has a size {size!r}; sizes: paper, {', '.join(known)}")
    return rows


def within(params: int, published: int | None, tolerance: float = TOLERANCE) -> bool | None:
    """Whether our count is within `tolerance` of the published one (None where none is published)."""
    return None if published is None else abs(params - published) <= tolerance * published


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "published_params": "" if r["published_params"] is None else r["published_params"]}
                     for r in rows)
    return out.getvalue()
