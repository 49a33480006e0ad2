"""The Lightning Trainer of a run, its logger, the throughput meter every record reports, early stopping
on the validation loss that tests the best weights seen, and the stop of a task once it is solved."""
from __future__ import annotations

import copy
import math
import time
import warnings

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from runners.run.config import UsageError

# under DDP every rank evaluates every sample (tasks/resume.py), so an unsynced epoch metric is already whole
warnings.filterwarnings("ignore", message=r"It is recommended to use `self.log\(.*sync_dist=True")


class Throughput(L.Callback):
    """Training units (what `count(batch)` counts: tokens, samples, ...) per second of wall time spent in
    training steps (validation excluded)."""

    def __init__(self, count):
        self.count, self.units, self.seconds, self._t0 = count, 0, 0.0, None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.seconds += time.perf_counter() - self._t0
        self.units += self.count(batch)

    def on_train_end(self, trainer, module):
        # every rank trained its own batches: the run's units are their sum, its time rank 0's
        if trainer.world_size > 1:
            self.units = int(trainer.strategy.reduce(torch.tensor(float(self.units), dtype=torch.float64), reduce_op="sum"))

    def per_s(self) -> float | None:
        return self.units / self.seconds if self.seconds else None

    # a resumed run's throughput covers its steps before the kill too (under DDP: rank 0's count before the
    # kill stands for every rank's, exact where the ranks' batches are the same size, as tokens and samples are)
    def state_dict(self):
        return {"units": self.units, "seconds": self.seconds}

    def load_state_dict(self, state):
        self.units, self.seconds = state["units"], state["seconds"]


class BestWeights(L.Callback):
    """Early stopping as the forecasting protocol does it: after `patience` validations without a lower
    `monitor`, stop; either way, the weights of the best validation are the ones tested. The copy is kept
    in memory (these models are small) and in the run's checkpoint (runners/run/checkpoints.py)."""

    def __init__(self, patience: int, monitor: str = "val/loss"):
        self.patience, self.monitor = patience, monitor
        self.best, self.best_state, self.waited = math.inf, None, 0

    def on_validation_end(self, trainer, module):
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if value < self.best:
            self.best, self.waited = value, 0
            self.best_state = copy.deepcopy(module.state_dict())
        else:
            self.waited += 1
            trainer.should_stop = trainer.should_stop or self.waited >= self.patience

    def on_fit_end(self, trainer, module):
        if self.best_state is not None:
            module.load_state_dict(self.best_state)

    def state_dict(self):
        return {"best": self.best, "best_state": self.best_state, "waited": self.waited}

    def load_state_dict(self, state):
        self.best, self.best_state, self.waited = state["best"], state["best_state"], state["waited"]


class StopWhenSolved(L.Callback):
    """Stop at the first validation whose `monitor` reaches `threshold`: a fast learner does not spend the
    step cap that a slow one needs (the weights tested are the ones that reached it)."""

    def __init__(self, threshold: float, monitor: str = "val/acc"):
        self.threshold, self.monitor = threshold, monitor

    def on_validation_end(self, trainer, module):
        if trainer.sanity_checking:
            return
        if self.monitor not in trainer.callback_metrics:
            raise ValueError(f"trainer.solved_at needs {self.monitor}, which this task does not log")
        if float(trainer.callback_metrics[self.monitor]) >= self.threshold:
            trainer.should_stop = True


def check_settings(cfg):
    """The run's protocol settings that torch would refuse only mid-run, or take and train to NaN: one line
    each, before anything trains (compare checks every run of a suite this way before the first starts)."""
    check_logger(cfg)
    t, o = cfg.trainer, cfg.optim
    if t.patience is not None and t.patience < 1:
        raise UsageError(f"trainer.patience={t.patience}: give a positive number of validations, or null")
    if t.solved_at is not None and not (_finite(t.solved_at) and 0 < t.solved_at <= 1):
        raise UsageError(f"trainer.solved_at={t.solved_at}: give an accuracy in (0, 1], or null")
    if not _finite(o.lr) or o.lr <= 0:
        raise UsageError(f"optim.lr={o.lr}: give a finite learning rate above 0")
    if not _finite(o.weight_decay) or o.weight_decay < 0:
        raise UsageError(f"optim.weight_decay={o.weight_decay}: give a finite number of 0 or more")
    if o.grad_clip is not None and (not _finite(o.grad_clip) or o.grad_clip <= 0):
        raise UsageError(f"optim.grad_clip={o.grad_clip}: give a finite norm above 0, or null")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_logger(cfg):
    """Fail early, in one line, on a logger that cannot be made here."""
    kind = cfg.logger.kind
    if kind not in ("csv", "wandb", "none"):
        raise UsageError(f"logger.kind={kind!r} is not one of csv, wandb, none")
    if kind == "wandb":
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise UsageError("logger=wandb needs the wandb package: pip install 'mambazoo[wandb]' "
                             "(or use logger=csv)") from None


def build_logger(cfg, run_name: str):
    if cfg.logger.kind == "csv":
        from lightning.pytorch.loggers import CSVLogger
        return CSVLogger(cfg.logger.save_dir, name=run_name.replace("/", "-"))
    if cfg.logger.kind == "wandb":
        from lightning.pytorch.loggers import WandbLogger
        return WandbLogger(project=cfg.logger.project, name=run_name, save_dir=cfg.logger.save_dir,
                           offline=cfg.logger.mode == "offline", mode=cfg.logger.mode)
    return False


def build_trainer(cfg, run_name: str, built, extra=()):
    """The Trainer and its throughput meter; `built` (tasks.kinds.Built) says what a batch counts; `extra`:
    more callbacks."""
    t = cfg.trainer
    check_settings(cfg)
    meter = Throughput(built.count)
    callbacks = [meter] + ([BestWeights(t.patience)] if t.patience else []) \
        + ([StopWhenSolved(t.solved_at)] if t.solved_at is not None else []) + list(extra)
    try:
        trainer = _trainer(t, callbacks, build_logger(cfg, run_name))
    except MisconfigurationException as exc:  # e.g. trainer=gpu on a machine without one
        raise UsageError(f"trainer={t.accelerator}: {exc}".splitlines()[0]) from None
    return trainer, meter


def _trainer(t, callbacks, logger):
    return L.Trainer(
        accelerator=t.accelerator, devices=t.devices, strategy=t.strategy, precision=t.precision,
        max_steps=t.max_steps, val_check_interval=min(t.val_every_steps, t.max_steps), check_val_every_n_epoch=None,
        limit_val_batches=t.limit_val_batches, log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=t.progress_bar, enable_model_summary=False, enable_checkpointing=False,
        num_sanity_val_steps=0, deterministic=True,
        use_distributed_sampler=False,  # tasks/resume.py shares the training batches; every rank evaluates all
        logger=logger, callbacks=callbacks)
