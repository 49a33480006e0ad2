"""Runs that survive being killed: the run's whole training state after every validation, one file per run,
and the resume that reaches the record an uninterrupted run would have written.

Lightning's own checkpoint (model, optimiser, schedule, loop counters, callbacks) plus what it does not keep:
the global torch generator (dropout) and where the shuffled batches stand (tasks/resume.py). The file is
written under another name and renamed into place, so a kill while saving leaves the previous one whole;
it is loaded with weights_only=True. One file per run (the last), deleted once the run's record is written
unless trainer.keep_checkpoint is set.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import lightning as L
import torch

# we restore the data order ourselves (tasks/resume.py), which this warning of Lightning's cannot see
warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")

KEY = "mambazoo"  # our part of the checkpoint


def checkpoint_path(results_dir: Path, suite: str, run_name: str, config_hash: str) -> Path:
    return Path(results_dir) / "checkpoints" / suite / f"{run_name.replace('/', '-')}-{config_hash[:12]}.ckpt"


def weights_path(results_dir: Path, suite: str, run_name: str, config_hash: str) -> Path:
    """Where a finished run keeps the weights it tested (trainer.keep_weights)."""
    return Path(results_dir) / "weights" / suite / f"{run_name.replace('/', '-')}-{config_hash[:12]}.pt"


class Checkpoints(L.Callback):
    """Saves to `path` after every validation of training (not the last step's: the run ends there), and puts
    the generator and the data order back when the run resumes from it."""

    def __init__(self, path: Path):
        self.path, self._restore, self.resumed_from, self.restored_metrics = Path(path), None, None, {}

    def on_validation_end(self, trainer, module):
        # at the last step, or where early stopping has just ended the run (a resume would train on past it)
        if (trainer.sanity_checking or trainer.state.fn != "fit" or trainer.global_step >= trainer.max_steps
                or trainer.should_stop):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        trainer.save_checkpoint(partial, weights_only=False)  # the whole state, not only weights
        if trainer.is_global_zero:
            os.replace(partial, self.path)

    def on_save_checkpoint(self, trainer, module, checkpoint):
        checkpoint[KEY] = {"torch_rng": torch.get_rng_state(),
                           "data": trainer.train_dataloader.state_after(trainer.global_step),
                           "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()
                                       if k.startswith("val/")}}

    def on_load_checkpoint(self, trainer, module, checkpoint):
        self._restore = checkpoint.get(KEY)
        self.restored_metrics = dict(self._restore.get("metrics", {})) if self._restore else {}

    def on_train_start(self, trainer, module):
        if self._restore is not None:
            torch.set_rng_state(self._restore["torch_rng"])
            trainer.train_dataloader.restore(self._restore["data"])
            self._restore, self.resumed_from = None, trainer.global_step
