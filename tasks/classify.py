"""The whole-input classification task (images, long-range sequences): cross-entropy, accuracy over every
example of a split."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from .base import Task, metric_key


class ClassifyTask(Task):
    """`model(inputs) -> logits (batch, classes)`: images (batch, C, H, W), token ids (batch, seqlen), ..."""

    def __init__(self, model: nn.Module, cfg):
        super().__init__(model, cfg)
        self.metrics = nn.ModuleDict({metric_key(f"{split}/{m}"): MeanMetric()
                                      for split in ("val", "test") for m in ("acc", "loss")})

    def training_step(self, batch, batch_idx):
        inputs, labels = batch
        logits = self(inputs).float()
        loss = F.cross_entropy(logits, labels)
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", (logits.argmax(-1) == labels).float().mean(), prog_bar=True)
        return loss

    def _eval_step(self, split, batch):
        inputs, labels = batch
        logits = self(inputs).float()
        hits = (logits.argmax(-1) == labels).float()
        losses = F.cross_entropy(logits, labels, reduction="none")
        self.metrics[metric_key(f"{split}/acc")].update(hits.mean(), weight=len(labels))
        self.metrics[metric_key(f"{split}/loss")].update(losses.mean(), weight=len(labels))
        self.keep(split, f"{split}/acc", hits, 1, labels)
        self.keep(split, f"{split}/loss", losses, 1, labels)

    def validation_step(self, batch, batch_idx):
        self._eval_step("val", batch)

    def test_step(self, batch, batch_idx):
        self._eval_step("test", batch)

    def _log_epoch(self, split):
        for m in ("acc", "loss"):
            metric = self.metrics[metric_key(f"{split}/{m}")]
            self.log(f"{split}/{m}", metric.compute(), prog_bar=split == "val")
            metric.reset()
