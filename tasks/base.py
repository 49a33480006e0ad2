"""What every task module shares: optimiser groups, warm-up + cosine schedule, gradient clipping.

A task kind subclasses `Task` and defines its steps and `_log_epoch`; the optimiser and schedule come from
here, so the protocol cannot differ between the models, or the domains, of a comparison.
"""
from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn

from .outcomes import Outcomes


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: never on parameters marked `_no_weight_decay` (A_log, D, dt bias,
    embeddings, position embeddings, class tokens), nor on those a timm model names in its
    `no_weight_decay()`, and never on vectors (norm scales, biases)."""
    exempt = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    decay, no_decay, seen = [], [], set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:  # tied embeddings appear twice
            continue
        seen.add(id(p))
        keep = p.ndim < 2 or getattr(p, "_no_weight_decay", False) or name in exempt
        (no_decay if keep else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up from 0, then cosine down to `min_lr_ratio`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Task(L.LightningModule):
    """AdamW over `parameter_groups`, warm-up + cosine per step, norm clipping; `cfg` is the run config."""

    def __init__(self, model: nn.Module, cfg):
        super().__init__()
        self.model = model
        optim, schedule = cfg.optim, cfg.schedule
        self.hp = dict(lr=optim.lr, weight_decay=optim.weight_decay, betas=tuple(optim.betas),
                       warmup_steps=schedule.warmup_steps, min_lr_ratio=schedule.min_lr_ratio,
                       total_steps=cfg.trainer.max_steps)
        self.grad_clip = optim.grad_clip
        self.outcomes = Outcomes()  # the test split's per-example outcomes (tasks/outcomes.py)

    def forward(self, inputs):
        return self.model(inputs)

    def _log_epoch(self, split: str):
        """Log and reset the metrics of `split` ("val" or "test") that the steps accumulated."""
        raise NotImplementedError

    def on_validation_epoch_end(self):
        self._log_epoch("val")

    def on_test_epoch_start(self):
        self.outcomes.reset()

    def keep(self, split: str, name: str, num, den, targets, kind: str = "ratio"):
        """Per-example outcomes of a test metric (see tasks/outcomes.py); other splits keep none."""
        if split == "test":
            self.outcomes.add(name, num, den, targets, kind)

    def on_test_epoch_end(self):
        self._log_epoch("test")

    def check_finite(self, loss):
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {self.global_step}")

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")

    def configure_optimizers(self):
        hp = self.hp
        opt = torch.optim.AdamW(parameter_groups(self.model, hp["weight_decay"]), lr=hp["lr"], betas=hp["betas"])
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: warmup_cosine(step, hp["warmup_steps"], hp["total_steps"], hp["min_lr_ratio"]))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def metric_key(name: str) -> str:
    # ModuleDict keys cannot contain "." or "/"
    return name.replace("/", "__").replace(".", "_").replace("@", "_at_")
