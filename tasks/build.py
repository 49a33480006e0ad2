"""From a composed run config to (datamodule, LightningModule). The model comes from the caller's
factory, so tasks never reach into the zoo."""
from __future__ import annotations

from typing import Callable

from omegaconf import OmegaConf

from .base import TokenTask
from .language.data import SyntheticTokens


def build_task(cfg, make_model: Callable[[int], object]):
    """`make_model(vocab_size)` builds the network; returns (datamodule, task)."""
    data = SyntheticTokens(**OmegaConf.to_container(cfg.data, resolve=True), shuffle_seed=cfg.seed)
    optim, schedule = cfg.optim, cfg.schedule
    task = TokenTask(make_model(data.vocab_size), data.eval_names, lr=optim.lr, weight_decay=optim.weight_decay,
                     betas=tuple(optim.betas), grad_clip=optim.grad_clip, warmup_steps=schedule.warmup_steps,
                     min_lr_ratio=schedule.min_lr_ratio, total_steps=cfg.trainer.max_steps)
    return data, task
