"""The forecasting task: MSE loss; MSE and MAE over every window, step and variable of a split."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from ..base import Task, metric_key

METRICS = ("mse", "mae")


class ForecastTask(Task):
    """`model(x (batch, lookback, variables)) -> (batch, horizon, variables)`, on the normalised scale."""

    def __init__(self, model: nn.Module, cfg):
        super().__init__(model, cfg)
        self.metrics = nn.ModuleDict({metric_key(f"{split}/{m}"): MeanMetric()
                                      for split in ("val", "test") for m in METRICS})

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self(x).float(), y)
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def _eval_step(self, split, batch):
        x, y = batch
        error = self(x).float() - y
        # weighted by element count, so the last, smaller batch counts as much per value as the others
        self.metrics[metric_key(f"{split}/mse")].update(error.pow(2).mean(), weight=error.numel())
        self.metrics[metric_key(f"{split}/mae")].update(error.abs().mean(), weight=error.numel())
        per_window = error[0].numel()
        self.keep(split, f"{split}/mse", error.pow(2).flatten(1).sum(1), per_window, y)
        self.keep(split, f"{split}/mae", error.abs().flatten(1).sum(1), per_window, y)

    def validation_step(self, batch, batch_idx):
        self._eval_step("val", batch)

    def test_step(self, batch, batch_idx):
        self._eval_step("test", batch)

    def _log_epoch(self, split):
        values = {m: self.metrics[metric_key(f"{split}/{m}")].compute() for m in METRICS}
        for m, value in values.items():
            self.log(f"{split}/{m}", value, prog_bar=split == "val")
            self.metrics[metric_key(f"{split}/{m}")].reset()
        self.log(f"{split}/loss", values["mse"])
