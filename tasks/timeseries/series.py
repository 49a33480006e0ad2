"""Reading a multivariate series in the ETT column format, and the forecasting protocol's arithmetic:
the split borders, the training-split normalisation and the sliding windows.

The format: a header whose first column is `date`, then one numeric column per variable (ETTh1/2, ETTm1/2,
Weather, Electricity and Traffic as the Autoformer/TSLib releases ship them). Every problem with a file is
a ValueError in one line that names the file and what is wrong.
"""
from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

SHIPPED = Path(__file__).parent / "files" / "ETTh1.csv"
# the other ETT files by name, fetched once from the dataset's home into the data cache
ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{name}.csv"
ETT_NAMES = ("ETTh1", "ETTh2", "ETTm1", "ETTm2")

HOURS_PER_MONTH = 30 * 24
# The Informer split of the ETT files: 12 / 4 / 4 months of rows; the 15-minute files have four rows an hour.
ETT_MONTHS = (12, 4, 4)
SPLITS = {"ett_hour": 1, "ett_15min": 4}
RATIOS = (0.7, 0.1, 0.2)  # every other file: the first 70% train, the last 20% test, the rest validation
SPLIT_NAMES = ("auto", "ett_hour", "ett_15min", "ratio")


@dataclass(frozen=True)
class Series:
    name: str
    columns: list[str]
    dates: list[str]
    values: np.ndarray         # (rows, variables), float64
    sha256: str


def read_series(path: str | Path) -> Series:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data.path={path}: no such file")
    raw = path.read_bytes()
    try:
        rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"data.path={path}: not a readable CSV file ({exc})") from None
    rows = [r for r in rows if r]
    if not rows or not rows[0] or rows[0][0].strip().lower() != "date":
        found = rows[0][0] if rows and rows[0] else "nothing"
        raise ValueError(f"data.path={path}: the first column must be 'date' (ETT format: date, then one column "
                         f"per variable), found {found!r}")
    header = [c.strip() for c in rows[0]]
    if len(header) < 2:
        raise ValueError(f"data.path={path}: no variable columns after 'date'")
    body = rows[1:]
    values = np.empty((len(body), len(header) - 1))
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise ValueError(f"data.path={path}: line {i + 2} has {len(row)} fields, the header {len(header)}")
        for j, cell in enumerate(row[1:]):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise ValueError(f"data.path={path}: line {i + 2}, column {header[j + 1]!r}: {cell!r} is not a "
                                 f"number") from None
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        raise ValueError(f"data.path={path}: line {i + 2}, column {header[j + 1]!r} is {values[i, j]}")
    return Series(path.stem, header[1:], [r[0] for r in body], values, hashlib.sha256(raw).hexdigest())


def locate(path: str | None, cache: str | Path, download: bool = True) -> Path:
    """The CSV file `data.path` names: None or ETTh1 is the shipped file; ETTh2, ETTm1, ETTm2 are read from
    `<cache>/ett/`, downloaded there first if missing (unless `download` is off); anything else is a path."""
    if path is None or path == "ETTh1":
        return SHIPPED
    if path not in ETT_NAMES:
        return Path(path)
    target = Path(cache) / "ett" / f"{path}.csv"
    if download and not target.exists():
        url = ETT_URL.format(name=path)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ValueError(f"data.path={path}: not cached at {target}, and downloading {url} failed ({reason}); "
                             f"put the file there, or pass data.path=<an ETT-format csv>") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, target)  # whole or absent: an interrupted download leaves no half file behind
    return target


def resolve_split(split: str, name: str) -> str:
    """`auto`: the Informer split for files named ETTh* / ETTm*, the 70/10/20 split for any other file."""
    if split not in SPLIT_NAMES:
        raise ValueError(f"data.split={split!r} is not one of {', '.join(SPLIT_NAMES)}")
    if split != "auto":
        return split
    return "ett_hour" if name.startswith("ETTh") else "ett_15min" if name.startswith("ETTm") else "ratio"


def borders(n_rows: int, split: str, lookback: int, horizon: int, where: str = "the series") -> dict:
    """{split: (first row, end row)} of the rows each split's windows are cut from. The validation and test
    ranges start `lookback` rows early, so their first target follows the previous split directly."""
    if split in SPLITS:
        train, val, test = (m * HOURS_PER_MONTH * SPLITS[split] for m in ETT_MONTHS)
        needed = train + val + test
        if n_rows < needed:
            raise ValueError(f"data.split={split}: {where} has {n_rows} rows, the {split} split needs {needed} "
                             f"(12/4/4 months); use data.split=ratio")
        ends = (train, train + val, train + val + test)
    else:
        train, test = int(n_rows * RATIOS[0]), int(n_rows * RATIOS[2])
        ends = (train, n_rows - test, n_rows)
    spans = {"train": (0, ends[0]), "val": (ends[0] - lookback, ends[1]), "test": (ends[1] - lookback, ends[2])}
    for name, (start, end) in spans.items():
        if start < 0 or end - start < lookback + horizon:
            raise ValueError(f"{where} is too short: its {name} split has {end - max(start, 0)} rows, fewer than "
                             f"lookback + horizon = {lookback + horizon}")
    return spans


def train_statistics(values: np.ndarray, train: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-variable mean and (population) std over the training rows; a constant variable keeps scale 1."""
    rows = values[train[0]:train[1]]
    mean, std = rows.mean(0), rows.std(0)
    return mean, np.where(std > 0, std, 1.0)


class Windows(Dataset):
    """Every window of a span: inputs rows [s, s + lookback), targets the next `horizon` rows."""

    def __init__(self, values: np.ndarray, lookback: int, horizon: int):
        self.values = torch.as_tensor(values, dtype=torch.float32)
        self.lookback, self.horizon = lookback, horizon

    def __len__(self):
        return len(self.values) - self.lookback - self.horizon + 1

    def __getitem__(self, s):
        cut = s + self.lookback
        return self.values[s:cut], self.values[cut:cut + self.horizon]
