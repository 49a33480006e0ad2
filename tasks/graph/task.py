"""The graph tasks: node classification scored by class-balanced accuracy (PATTERN, CLUSTER) and graph
regression scored by MAE (molecules).

Models whose output depends on a random node order (`model.ordered`: Graph-Mamba, GMN) are evaluated as the
average of several orders drawn from fixed seeds (`model.draws`); the test split is also scored at every
count in `test_perms` (test/<metric>@<count>), from one set of draws.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanMetric, MeanSquaredError
from torchmetrics.classification import MulticlassAccuracy

from ..base import Task, metric_key


def weighted_cross_entropy(logits, labels, classes: int):
    """Benchmarking GNNs' loss for the SBM sets (also GraphGPS's): each class weighted by the share of the
    batch's nodes outside it, so the small pattern or community counts as much as the rest."""
    sizes = torch.bincount(labels, minlength=classes).float()
    weight = (labels.numel() - sizes) / labels.numel() * (sizes > 0)
    return F.cross_entropy(logits, labels, weight=weight)


class GraphTask(Task):
    """Shared evaluation over orders; a subclass names its metrics and scores one batch."""

    names: tuple[str, ...] = ()

    def __init__(self, model: nn.Module, cfg, test_perms):
        super().__init__(model, cfg)
        self.ordered = bool(getattr(model, "ordered", False))
        self.test_perms = sorted({int(p) for p in test_perms}) if self.ordered else []
        keys = [f"{s}/{m}" for s in ("val", "test") for m in self.names]
        keys += [f"test/{m}@{p}" for p in self.test_perms for m in self.names]
        self.metrics = nn.ModuleDict({metric_key(k): self.new_metric(k.split("/")[1].split("@")[0]) for k in keys})
        self.logged_as = {metric_key(k): k for k in keys}

    def _eval(self, split, batch):
        if split == "test" and self.test_perms:
            draws = self.model.draws(batch, max(self.test_perms[-1], self.model.eval_perms))
            for p in self.test_perms:
                self.score(f"test/{{}}@{p}", draws[:p].mean(0), batch)
            self.score("test/{}", draws[:self.model.eval_perms].mean(0), batch)
        else:
            self.score(f"{split}/{{}}", self(batch), batch)

    def validation_step(self, batch, batch_idx):
        self._eval("val", batch)

    def test_step(self, batch, batch_idx):
        self._eval("test", batch)

    def _log_epoch(self, split):
        for key, metric in self.metrics.items():
            name = self.logged_as[key]
            if name.startswith(split + "/") and metric.update_count:
                self.log(name, metric.compute(), prog_bar=split == "val" and "@" not in name)
                metric.reset()


class NodeClassifyTask(GraphTask):
    """`model(batch) -> (nodes, classes)` logits; `acc` is the mean over classes of each class's accuracy
    over the whole split (Benchmarking GNNs' accuracy_SBM, which they average over batches of 32 graphs)."""

    names = ("acc", "loss")

    def __init__(self, model, cfg, classes: int, test_perms):
        self.classes = classes
        super().__init__(model, cfg, test_perms)

    def new_metric(self, name):
        return MulticlassAccuracy(self.classes, average="macro") if name == "acc" else MeanMetric()

    def training_step(self, batch, batch_idx):
        logits = self(batch).float()
        loss = weighted_cross_entropy(logits, batch.y, self.classes)
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.num_graphs)
        return loss

    def score(self, key, logits, batch):
        logits = logits.float()
        self.metrics[metric_key(key.format("acc"))].update(logits.argmax(-1), batch.y)
        # per graph and class: its nodes of that class, and how many of them were right
        cell = batch.batch * self.classes + batch.y
        cells = batch.num_graphs * self.classes
        nodes = torch.bincount(cell, minlength=cells).view(-1, self.classes)
        right = torch.bincount(cell, weights=(logits.argmax(-1) == batch.y).double(), minlength=cells)
        self.keep(key.split("/")[0], key.format("acc"), right.view(-1, self.classes), nodes, batch.y)
        self.metrics[metric_key(key.format("loss"))].update(weighted_cross_entropy(logits, batch.y, self.classes),
                                                            weight=batch.y.numel())


class GraphRegressTask(GraphTask):
    """`model(batch) -> (graphs, 1)` on the z-scored target; L1 loss; MAE and RMSE in the target's units."""

    names = ("mae", "rmse")

    def __init__(self, model, cfg, mean: float, std: float, test_perms):
        self.mean, self.std = mean, std
        super().__init__(model, cfg, test_perms)

    def new_metric(self, name):
        return MeanAbsoluteError() if name == "mae" else MeanSquaredError(squared=False)

    def training_step(self, batch, batch_idx):
        pred = self(batch).float().squeeze(-1)
        loss = F.l1_loss(pred, (batch.y - self.mean) / self.std)
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.num_graphs)
        return loss

    def score(self, key, pred, batch):
        pred = pred.float().squeeze(-1) * self.std + self.mean
        for name in self.names:
            self.metrics[metric_key(key.format(name))].update(pred, batch.y)
        split, error = key.split("/")[0], pred - batch.y
        self.keep(split, key.format("mae"), error.abs(), 1, batch.y)
        self.keep(split, key.format("rmse"), error.pow(2), 1, batch.y, kind="sqrt")
