"""One run: compose the config, train and test one model under one pipeline, write one record.

    python -m runners.train pipeline=mqar model.name=mamba2 seed=1
    python -m runners.train experiment=induction_heads_mamba trainer.max_steps=50
    python -m runners.train --cfg pipeline=mqar          # print the composed config and stop

Overrides are Hydra's (`key=value`, `group=option`). The record goes to
`<results_dir>/records/<suite_name>/`; a run whose settings are wrong fails before anything trains and
leaves no record; a run that fails while training leaves a record with status "failed".
"""
from __future__ import annotations

import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from runners.run.config import UsageError, compose
from runners.run.identity import config_hash, reproducing, resolved, run_name
from runners.run.records import record_path, write_record

def command(overrides: list[str]) -> str:
    return " ".join(["python -m runners.train"] + [shlex.quote(o) for o in overrides])


def prepare(cfg):
    """Build data, model and task (a tasks.kinds.Built); every bad setting fails here, before any training
    or record."""
    import zoo
    from tasks.kinds import build

    settings = {k: v for k, v in _plain(cfg.model).items() if k != "name"}

    def make_model(**io):
        decided = sorted(set(io) & set(settings))
        if decided:
            raise ValueError(f"model.{decided[0]} is decided by the data ({decided[0]}={io[decided[0]]}); "
                             f"remove it from the command or the config")
        return zoo.create_model(cfg.model.name, **io, **settings)

    try:
        return build(cfg, make_model)
    # the registry, layers and data name the bad setting; an optional extra that is missing names itself, and
    # so does a data file that is missing or a corpus that cannot be reached (OSError)
    except (KeyError, ValueError, TypeError, ImportError, OSError) as exc:
        raise UsageError(exc.args[0] if exc.args else str(exc)) from None


def run(cfg, overrides: list[str]) -> dict:
    """Train and test; returns the record it wrote (status ok or failed)."""
    import lightning as L
    import torch

    import zoo
    from zoo.ops import backends_used, dispatch, fallbacks

    from runners.run import env
    from runners.run.checkpoints import Checkpoints, checkpoint_path, weights_path
    from runners.run.trainer import build_trainer

    results = Path(cfg.results_dir)
    check_writable(results)
    env.keep_freed_memory()
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    built = prepare(cfg)
    data, task = built.data, built.task
    content = resolved(cfg)
    record = dict(suite=cfg.suite_name, run_name=run_name(cfg), pipeline=cfg.pipeline_name, task=built.name,
                  data=data.describe(), model=cfg.model.name,
                  model_config={k: v for k, v in content["model"].items() if k != "name"},
                  protocol={k: content[k] for k in ("optim", "schedule", "trainer")},
                  taxonomy=zoo.model_info(cfg.model.name).taxonomy, seed=cfg.seed, config_hash=config_hash(cfg),
                  command=command(overrides), params=zoo.count_parameters(task.model),
                  state_size=_state_size(task.model, built.input_length), primary_metric=built.primary,
                  metric_directions=built.directions, pivot=built.pivot, versus=built.versus,
                  git_commit=env.git_commit(), versions=env.versions())
    saved = checkpoint_path(results, cfg.suite_name, record["run_name"], record["config_hash"])
    checkpoints = [Checkpoints(saved)] if cfg.trainer.checkpoint else []
    trainer, meter = build_trainer(cfg, f"{record['run_name']}-{record['config_hash'][:8]}", built, checkpoints)
    resume = saved if checkpoints and saved.exists() else None
    device = trainer.strategy.root_device
    dispatch.reset_backend_log()
    baseline_mb = env.reset_peak_memory(device)
    start, outcomes = time.perf_counter(), {}
    try:
        trainer.fit(task, datamodule=data, ckpt_path=resume, weights_only=True)
        # a resumed run whose last validation came before the kill still reports it
        metrics = {**(checkpoints[0].restored_metrics if checkpoints else {}),
                   **{k: float(v) for k, v in trainer.callback_metrics.items()}}
        for result in trainer.test(task, datamodule=data, verbose=False):
            metrics.update({k: float(v) for k, v in result.items()})
        record.update(status="ok", metrics=metrics, steps=trainer.global_step)
        # one process's share of the test set is not the test set: outcomes only from a single process
        outcomes = task.outcomes.arrays() if trainer.world_size == 1 else {}
    except Exception as exc:  # a run that dies is recorded as failed, and the caller goes on
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0], metrics={})
    per_s = meter.per_s()
    record.update(wall_time_s=time.perf_counter() - start,
                  throughput=per_s, throughput_unit=built.unit, train_units=meter.units,
                  train_s=meter.seconds,
                  # what one optimiser step sees, so a DDP run and a one-process run of a protocol compare
                  world_size=trainer.world_size, effective_batch_size=data.batch_size * trainer.world_size,
                  peak_mem_mb=env.peak_memory_mb(device, baseline_mb), scan_backend=backends_used(),
                  scan_fallbacks=fallbacks(), threads=torch.get_num_threads(),
                  device=env.device_name(device), finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if resume is not None:
        record["resumed_from_step"] = checkpoints[0].resumed_from
    if trainer.is_global_zero:
        path = record_path(results / "records", cfg.suite_name, record["run_name"], record["config_hash"])
        if record["status"] == "ok" and outcomes:
            from tasks.outcomes import save
            save(path.with_suffix(".npz"), outcomes)
            record["outcomes"] = path.with_suffix(".npz").name
        write_record(path, record)
        if not cfg.trainer.keep_checkpoint:
            saved.unlink(missing_ok=True)
        if cfg.trainer.keep_weights and record["status"] == "ok":
            save_weights(task.model, weights_path(results, cfg.suite_name, record["run_name"], record["config_hash"]))
    return record


def save_weights(model, path: Path):
    """The weights the run tested, as a plain state dict (torch.load(..., weights_only=True) reads it)."""
    import torch

    from tasks.cache import write_whole
    write_whole(path, lambda partial: torch.save(model.state_dict(), partial))


def _state_size(model, length):
    """Floats a sequence carries while decoding, for models that decode recurrently (None otherwise)."""
    return int(model.state_size(length)) if length is not None and hasattr(model, "state_size") else None


def check_writable(results: Path):
    try:
        (results / "records").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results / "records"):  # a name of its own: runs check in parallel
            pass
    except OSError as exc:
        raise UsageError(f"results directory {results} is not writable ({exc.strerror}); "
                         f"set results_dir=<path> or MAMBAZOO_RESULTS") from None


def _plain(node) -> dict:
    from omegaconf import OmegaConf
    return OmegaConf.to_container(node, resolve=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    show = bool(argv) and argv[0] == "--cfg"
    overrides = argv[1:] if show else list(argv)
    cfg = compose("train", overrides)
    if show:
        from omegaconf import OmegaConf
        print(OmegaConf.to_yaml(cfg))
        return 0
    record = run(cfg, reproducing(overrides))
    if record["status"] != "ok":
        print(f"train: run failed: {record['error']}", file=sys.stderr)
        return 1
    shown = {k: round(v, 4) for k, v in record["metrics"].items() if k.startswith(("val/", "test/"))}
    print(f"{record['run_name']}: {shown}  ({record['wall_time_s']:.0f} s)")
    return 0

