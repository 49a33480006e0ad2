"""The token-prediction task: next-token cross-entropy, scored as accuracy on the scored positions (the
synthetic tasks), as bits per byte (byte-level language modelling: the cross-entropy in bits) or as perplexity
(subword language modelling: e to the mean cross-entropy in nats, the Mamba paper's Pile metric).

A task sees a model only as `model(inputs) -> logits`; which positions count is the data's business
(targets are -100 where nothing is scored), so the same module trains every model on every
token-prediction task.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from ..base import Task, metric_key
from .synthetic import IGNORE_INDEX as IGNORE


class TokenTask(Task):
    """`eval_names[split]` names the metric of each evaluation dataloader of that split, e.g.
    {"val": ["val/acc"], "test": ["test/acc", "test/acc@128", ...]}; `metric`: "acc", "bpb" or "ppl"."""

    def __init__(self, model: nn.Module, cfg, eval_names: dict[str, list[str]], metric: str = "acc"):
        super().__init__(model, cfg)
        if metric not in ("acc", "bpb", "ppl"):
            raise ValueError(f"token metric {metric!r} is not one of acc, bpb, ppl")
        self.eval_names, self.metric = eval_names, metric
        names = [n for split in eval_names.values() for n in split]
        self.metrics = nn.ModuleDict({metric_key(n): MeanMetric() for n in names})

    def _loss_and_hits(self, batch, per_sequence=False):
        inputs, targets = batch
        logits = self(inputs)
        nats = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE, reduction="none")
        scored = targets != IGNORE
        loss = nats.sum() / scored.sum()
        hits = (logits.argmax(-1) == targets)[scored].float()
        if not per_sequence:
            return loss, hits
        # per sequence: nats, hits and scored positions, for the test split's outcomes
        hit_rows = ((logits.argmax(-1) == targets) & scored).sum(1)
        return loss, hits, (nats.view_as(targets).sum(1), hit_rows, scored.sum(1), targets)

    def training_step(self, batch, batch_idx):
        loss, hits = self._loss_and_hits(batch)
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", hits.mean(), prog_bar=True)
        return loss

    def _eval_step(self, split, batch, dataloader_idx):
        loss, hits, (nats, hit_rows, scored, targets) = self._loss_and_hits(batch, per_sequence=True)
        name = self.eval_names[split][dataloader_idx]
        # loss: nats per scored token; perplexity is taken of the mean nats at the epoch's end, not averaged
        value = {"bpb": loss / math.log(2), "ppl": loss}.get(self.metric, hits.mean())
        self.metrics[metric_key(name)].update(value, weight=hits.numel())  # the mean over scored positions
        per_row = {"bpb": nats / math.log(2), "ppl": nats}.get(self.metric, hit_rows)
        self.keep(split, name, per_row, scored, targets, kind="exp" if self.metric == "ppl" else "ratio")
        if dataloader_idx == 0:
            self.log(f"{split}/loss", loss, add_dataloader_idx=False, batch_size=batch[0].shape[0])

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self._eval_step("val", batch, dataloader_idx)

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        self._eval_step("test", batch, dataloader_idx)

    def _log_epoch(self, split):
        for name in self.eval_names[split]:
            metric = self.metrics[metric_key(name)]
            value = metric.compute()
            self.log(name, value.exp() if self.metric == "ppl" else value, prog_bar=split == "val",
                     add_dataloader_idx=False)
            metric.reset()
