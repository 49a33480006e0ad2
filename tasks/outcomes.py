"""Per-example test outcomes, kept beside a run's record so that a comparison of two models can resample the
test set (runners/report/verdicts.py bootstraps over them).

Every test metric a task logs is a function of per-example sums. Each example adds a numerator and a
denominator per column, and the metric is the mean over columns of (sum of numerators / sum of
denominators), square-rooted for an RMSE:
- a plain mean (an image's hit, a window's squared error per value): one column;
- accuracy over the scored tokens of a sequence: hits / scored, one column;
- class-balanced accuracy: one column per class, hits and nodes of that class in one graph.
`value` recomputes the metric from any resample of the examples. `targets` fingerprints what the examples
asked for (labels, values, in order), so two runs are paired only when they were scored on the same examples.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

KINDS = ("ratio", "sqrt", "exp")


class Outcomes:
    """Collects, per test metric, each example's numerators and denominators (n, columns)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self._num, self._den, self._hash, self._kind = {}, {}, {}, {}

    def add(self, name: str, num, den, targets: torch.Tensor, kind: str = "ratio"):
        """num, den: (n,) or (n, columns) per example (den may be a number); targets: what the n examples ask."""
        if kind not in KINDS:
            raise ValueError(f"outcome kind {kind!r} is not one of {KINDS}")
        num = _columns(num)
        den = _columns(den).expand_as(num) if torch.is_tensor(den) else torch.full_like(num, float(den))
        self._num.setdefault(name, []).append(num)
        self._den.setdefault(name, []).append(den)
        self._kind[name] = kind
        digest = self._hash.setdefault(name, hashlib.sha1())
        digest.update(targets.detach().cpu().contiguous().numpy().tobytes())

    def arrays(self) -> dict[str, dict]:
        """name -> {"num": (n, columns), "den": (n, columns) float64 arrays, "targets": digest, "kind": kind}."""
        return {name: dict(num=torch.cat(self._num[name]).numpy(), den=torch.cat(self._den[name]).numpy(),
                           targets=self._hash[name].hexdigest()[:16], kind=self._kind[name]) for name in self._num}


def _columns(t) -> torch.Tensor:
    t = torch.as_tensor(t).detach().to("cpu", torch.float64)
    return t[:, None] if t.dim() == 1 else t


def value(num: np.ndarray, den: np.ndarray, kind: str = "ratio", axis: int = 0) -> np.ndarray:
    """The metric from examples summed along `axis` (a leading batch of resamples may come before it):
    the mean over columns that have any denominator of sum(num) / sum(den), square-rooted for 'sqrt',
    exponentiated for 'exp' (a perplexity from nats)."""
    n, d = num.sum(axis), den.sum(axis)
    ratio = np.where(d > 0, n / np.where(d > 0, d, 1), np.nan)
    out = np.nanmean(ratio, axis=-1)
    return np.sqrt(out) if kind == "sqrt" else np.exp(out) if kind == "exp" else out


def save(path: Path, arrays: dict[str, dict]):
    meta = {name: dict(targets=a["targets"], kind=a["kind"]) for name, a in arrays.items()}
    flat = {f"{name}|{part}": a[part] for name, a in arrays.items() for part in ("num", "den")}
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        np.savez_compressed(f, __meta__=np.array(json.dumps(meta)), **flat)
    tmp.replace(path)


def load(path: Path) -> dict[str, dict]:
    with np.load(path) as z:
        meta = json.loads(str(z["__meta__"]))
        return {name: dict(m, num=z[f"{name}|num"], den=z[f"{name}|den"]) for name, m in meta.items()}
