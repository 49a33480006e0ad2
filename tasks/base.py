"""The LightningModule every task shares: optimiser groups, warm-up + cosine schedule, metrics per split.

A task sees a model only as `model(inputs) -> logits`; which positions count is the data's business
(targets are -100 where nothing is scored), so the same module trains every model on every
token-prediction task and the protocol cannot differ between the models of a comparison.
"""
from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from .language.synthetic import IGNORE_INDEX as IGNORE



def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: never on SSM parameters marked `_no_weight_decay` (A_log, D,
    dt bias), and never on vectors (norm scales, biases)."""
    decay, no_decay, seen = [], [], set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:  # tied embeddings appear twice
            continue
        seen.add(id(p))
        (no_decay if p.ndim < 2 or getattr(p, "_no_weight_decay", False) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up from 0, then cosine down to `min_lr_ratio`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class TokenTask(L.LightningModule):
    """Next-token cross-entropy and accuracy on the scored positions.

    `eval_names[split]` names the metric of each evaluation dataloader of that split, e.g.
    {"val": ["val/acc"], "test": ["test/acc", "test/acc@128", ...]}.
    """

    def __init__(self, model: nn.Module, eval_names: dict[str, list[str]], lr: float = 1e-3,
                 weight_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.98), warmup_steps: int = 0,
                 min_lr_ratio: float = 0.1, total_steps: int = 1000, grad_clip: float | None = 1.0):
        super().__init__()
        self.model = model
        self.eval_names = eval_names
        self.hp = dict(lr=lr, weight_decay=weight_decay, betas=tuple(betas), warmup_steps=warmup_steps,
                       min_lr_ratio=min_lr_ratio, total_steps=total_steps)
        self.grad_clip = grad_clip
        names = [n for split in eval_names.values() for n in split]
        self.metrics = nn.ModuleDict({_key(n): MeanMetric() for n in names})

    def forward(self, inputs):
        return self.model(inputs)

    def _loss_and_hits(self, batch):
        inputs, targets = batch
        logits = self(inputs)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE)
        scored = targets != IGNORE
        hits = (logits.argmax(-1) == targets)[scored].float()
        return loss, hits

    def training_step(self, batch, batch_idx):
        loss, hits = self._loss_and_hits(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {self.global_step}")
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", hits.mean(), prog_bar=True)
        return loss

    def _eval_step(self, split, batch, dataloader_idx):
        loss, hits = self._loss_and_hits(batch)
        name = self.eval_names[split][dataloader_idx]
        self.metrics[_key(name)].update(hits.mean(), weight=hits.numel())  # accuracy over scored positions
        if dataloader_idx == 0:
            self.log(f"{split}/loss", loss, add_dataloader_idx=False, batch_size=batch[0].shape[0])

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self._eval_step("val", batch, dataloader_idx)

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        self._eval_step("test", batch, dataloader_idx)

    def _log_epoch(self, split):
        for name in self.eval_names[split]:
            metric = self.metrics[_key(name)]
            self.log(name, metric.compute(), prog_bar=split == "val", add_dataloader_idx=False)
            metric.reset()

    def on_validation_epoch_end(self):
        self._log_epoch("val")

    def on_test_epoch_end(self):
        self._log_epoch("test")

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")

    def configure_optimizers(self):
        hp = self.hp
        opt = torch.optim.AdamW(parameter_groups(self.model, hp["weight_decay"]), lr=hp["lr"], betas=hp["betas"])
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: warmup_cosine(step, hp["warmup_steps"], hp["total_steps"], hp["min_lr_ratio"]))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _key(name: str) -> str:
    # ModuleDict keys cannot contain "."; metric names may ("test/acc@0.5" is not used, but be safe)
    return name.replace("/", "__").replace(".", "_").replace("@", "_at_")
