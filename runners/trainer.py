"""The Lightning Trainer of a run, its logger, and the throughput meter every record reports."""
from __future__ import annotations

import time

import lightning as L
from lightning.fabric.utilities.exceptions import MisconfigurationException

from .config import UsageError


class Throughput(L.Callback):
    """Training tokens per second of wall time spent in training steps (validation excluded)."""

    def __init__(self):
        self.tokens, self.seconds, self._t0 = 0, 0.0, None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.seconds += time.perf_counter() - self._t0
        self.tokens += batch[0].numel()

    def tokens_per_s(self) -> float | None:
        return self.tokens / self.seconds if self.seconds else None


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
    check_logger(cfg)
    if cfg.logger.kind == "csv":
        from lightning.pytorch.loggers import CSVLogger
        return CSVLogger(cfg.logger.save_dir, name=run_name.replace("/", "-"))
    if cfg.logger.kind == "wandb":
        from lightning.pytorch.loggers import WandbLogger
        return WandbLogger(project=cfg.logger.project, name=run_name, save_dir=cfg.logger.save_dir,
                           offline=cfg.logger.mode == "offline", mode=cfg.logger.mode)
    return False


def build_trainer(cfg, run_name: str):
    t = cfg.trainer
    meter = Throughput()
    try:
        trainer = _trainer(t, meter, build_logger(cfg, run_name))
    except MisconfigurationException as exc:  # e.g. trainer=gpu on a machine without one
        raise UsageError(f"trainer={t.accelerator}: {exc}".splitlines()[0]) from None
    return trainer, meter


def _trainer(t, meter, logger):
    return L.Trainer(
        accelerator=t.accelerator, devices=t.devices, strategy=t.strategy, precision=t.precision,
        max_steps=t.max_steps, val_check_interval=min(t.val_every_steps, t.max_steps), check_val_every_n_epoch=None,
        limit_val_batches=t.limit_val_batches, log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=t.progress_bar, enable_model_summary=False, enable_checkpointing=False,
        num_sanity_val_steps=0, deterministic=True, logger=logger, callbacks=[meter])
