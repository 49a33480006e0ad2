"""LightningDataModule for long-horizon forecasting on one multivariate series (the ETT protocol)."""
from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from ..resume import Resumable
from .series import Windows, borders, locate, read_series, resolve_split, train_statistics


class Forecasting(L.LightningDataModule):
    """Look-back windows in, the next `horizon` rows out, every variable, on the z-normalised scale
    (training-split statistics). `path`: any ETT-format CSV, or an ETT name (see series.locate, which
    downloads ETTh2 / ETTm1 / ETTm2 into `cache`); None: the shipped ETTh1."""

    def __init__(self, task: str, path: str | None, lookback: int, horizon: int, split: str, batch_size: int,
                 eval_batch_size: int | None, shuffle_seed: int = 0, cache: str | Path = "data"):
        super().__init__()
        for name, value in (("lookback", lookback), ("horizon", horizon), ("batch_size", batch_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"data.{name}={value!r}: give a positive integer")
        self.series = read_series(locate(path, cache))
        self.split = resolve_split(split, self.series.name)
        self.spans = borders(len(self.series.values), self.split, lookback, horizon,
                             where=f"data.path={path or self.series.name}")
        self.mean, self.std = train_statistics(self.series.values, self.spans["train"])
        self.lookback, self.horizon = lookback, horizon
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.shuffle_seed = shuffle_seed

    @property
    def n_vars(self) -> int:
        return self.series.values.shape[1]

    def windows(self, split: str) -> Windows:
        start, end = self.spans[split]
        return Windows((self.series.values[start:end] - self.mean) / self.std, self.lookback, self.horizon)

    def describe(self) -> dict:
        dates = self.series.dates
        spans = {name: f"{dates[max(start, 0)]} .. {dates[end - 1]}" for name, (start, end) in self.spans.items()}
        return dict(task="forecast", dataset=self.series.name, sha256=self.series.sha256[:16],
                    variables=self.n_vars, rows=len(dates), split=self.split, spans=spans, lookback=self.lookback,
                    horizon=self.horizon)

    def train_dataloader(self):
        # the batch order follows the run seed alone, whatever the model's initialisation drew
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(DataLoader(self.windows("train"), batch_size=self.batch_size, shuffle=True,
                                    drop_last=False, generator=order))

    def val_dataloader(self):
        return DataLoader(self.windows("val"), batch_size=self.eval_batch_size)

    def test_dataloader(self):
        return DataLoader(self.windows("test"), batch_size=self.eval_batch_size)
