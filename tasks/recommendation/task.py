"""The next-item task: cross-entropy over every item at every trained position (Mamba4Rec's and RecBole
SASRec's `loss_type: CE`), evaluated by ranking each user's held-out item against all items.

`model(ids) -> scores (batch, seqlen, n_items)`; `model(ids, at=positions) -> scores (batch, n_items)` at one
position per sequence (its last real item), which is all an evaluation needs. Column 0 is the padding id,
never a target and never ranked.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from ..base import Task, metric_key
from .ranking import K, METRICS, at_k, ranks
from .sequences import PAD

NAMES = [f"{m}@{K}" for m in METRICS] + ["loss"]


def without_padding(scores: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.full_like(scores[..., :1], float("-inf")), scores[..., 1:]], -1)


class NextItemTask(Task):
    def __init__(self, model: nn.Module, cfg):
        super().__init__(model, cfg)
        self.metrics = nn.ModuleDict({metric_key(f"{split}/{m}"): MeanMetric()
                                      for split in ("val", "test") for m in NAMES})

    def training_step(self, batch, batch_idx):
        ids, targets = batch
        scores = without_padding(self.model(ids).float())
        trained = targets != PAD
        loss = F.cross_entropy(scores[trained], targets[trained])
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def _eval_step(self, split, batch):
        ids, lengths, targets = batch
        scores = without_padding(self.model(ids, at=lengths - 1).float())
        values = at_k(ranks(scores, targets))
        values["loss"] = F.cross_entropy(scores, targets, reduction="none").double()
        for name, per_user in zip(NAMES, (values[m] for m in (*METRICS, "loss"))):
            self.metrics[metric_key(f"{split}/{name}")].update(per_user.mean(), weight=len(targets))
            self.keep(split, f"{split}/{name}", per_user, 1, targets)

    def validation_step(self, batch, batch_idx):
        self._eval_step("val", batch)

    def test_step(self, batch, batch_idx):
        self._eval_step("test", batch)

    def _log_epoch(self, split):
        for name in NAMES:
            metric = self.metrics[metric_key(f"{split}/{name}")]
            self.log(f"{split}/{name}", metric.compute(), prog_bar=split == "val" and name.startswith("ndcg"))
            metric.reset()
