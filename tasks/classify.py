"""The whole-input classification task (images, long-range sequences): cross-entropy, accuracy over every
example of a split."""
from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics import MeanMetric

from .base import Task, metric_key
from .resume import Resumable


class SplitsData(L.LightningDataModule):
    """Train, validation and test splits held in memory; a subclass gives `split(name)` and its `collate`."""

    def __init__(self, batch_size: int, eval_batch_size: int | None, shuffle_seed: int = 0):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: give a positive integer")
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.shuffle_seed = shuffle_seed

    def collate(self, batch):
        raise NotImplementedError

    def train_dataloader(self):
        # the batch order follows the run seed alone, whatever the model's initialisation drew
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(DataLoader(self.split("train"), batch_size=self.batch_size, shuffle=True, generator=order,
                                    collate_fn=self.collate))

    def val_dataloader(self):
        return DataLoader(self.split("val"), batch_size=self.eval_batch_size, collate_fn=self.collate)

    def test_dataloader(self):
        return DataLoader(self.split("test"), batch_size=self.eval_batch_size, collate_fn=self.collate)


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
