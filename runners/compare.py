"""A comparison suite: every (pipeline, model, configuration, seed) of `conf/suite/<name>.yaml`, one record each.

    python -m runners.compare suite=language                  # the default suite, then the report
    python -m runners.compare suite=language launcher=joblib  # runs in 2 worker processes
    python -m runners.compare suite=smoke results_dir=/tmp/r  # a tiny suite (tests, a first look)

Every run is checked before the first one starts (names, settings, parameter counts), so a typo fails
at once in one line. A run whose record (same config hash) already exists is skipped, so an interrupted
suite resumes where it stopped; a run that fails is recorded as failed and the suite goes on.
"""
from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

from .config import UsageError, compose, main_guard
from .records import find_record

PARAM_TOLERANCE = 0.10  # models compared on one pipeline differ in size by at most this fraction


def expand(suite) -> list[list[str]]:
    """The override list of every run. Seeds vary slowest, so a stopped suite has whole seeds done."""
    runs = []
    for seed in suite.seeds:
        for block in suite.grid:
            for pipeline in block.pipelines:
                for model in block.models:
                    for point in block.points:
                        runs.append([*suite.common, f"pipeline={pipeline}", f"model.name={model}", *point,
                                     f"seed={seed}"])
    return runs


def check_runs(suite, results_dir: str) -> list:
    """Compose and build every run once (without training); returns the composed configs."""
    from .train import check_writable, prepare
    from .trainer import check_logger

    check_writable(Path(results_dir))
    configs, sizes = [], defaultdict(dict)
    for overrides in expand(suite):
        cfg = compose("train", _with_location(overrides, suite.name, results_dir))
        configs.append(cfg)
        key = (cfg.pipeline_name, tuple(o for o in overrides if not o.startswith(("seed=", "model.name="))))
        if cfg.model.name not in sizes[key]:
            check_logger(cfg)
            _, task, _ = prepare(cfg)
            sizes[key][cfg.model.name] = sum(p.numel() for p in {id(p): p for p in task.model.parameters()}.values())
    return configs, _param_mismatches(sizes)


def _param_mismatches(sizes) -> list[str]:
    lines = []
    for (pipeline, _), by_model in sizes.items():
        low, high = min(by_model.values()), max(by_model.values())
        if high > low * (1 + PARAM_TOLERANCE):
            counts = ", ".join(f"{m} {n:,}" for m, n in sorted(by_model.items(), key=lambda kv: kv[1]))
            lines.append(f"{pipeline}: parameter counts differ by more than {PARAM_TOLERANCE:.0%} ({counts})")
    return lines


def _with_location(overrides, suite_name, results_dir):
    return [*overrides, f"suite_name={suite_name}", f"results_dir={results_dir}"]


def _run_one(overrides, suite_name, results_dir, threads=None):
    """One run in this process (also the joblib worker's entry point); returns its record. A thread
    count set by the launcher is part of the reproducing command: float sums depend on it."""
    from .train import run

    quiet_lightning()
    if threads:
        overrides = [*overrides, f"trainer.threads={threads}"]
    cfg = compose("train", _with_location(overrides + ["trainer.progress_bar=false"], suite_name, results_dir))
    return run(cfg, overrides)


def quiet_lightning():
    """Lightning's per-run banners (accelerator found, tips) and an internal deprecation warning would
    bury the suite's own progress lines; real warnings still show."""
    import logging
    import warnings
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from tqdm import tqdm

    cfg = compose("compare", argv)
    suite, results_dir = cfg.suite, cfg.results_dir
    configs, mismatches = check_runs(suite, results_dir)
    for line in mismatches:
        print(f"compare: warning: {line}", file=sys.stderr)
    runs = expand(suite)
    todo = []
    for overrides, run_cfg in zip(runs, configs):
        from .train import config_hash
        done = find_record(Path(results_dir) / "records", config_hash(run_cfg))
        if done and (done["status"] == "ok" or not cfg.rerun_failed):
            continue
        todo.append(overrides)
    print(f"suite {suite.name}: {len(runs)} runs, {len(runs) - len(todo)} already recorded, {len(todo)} to run "
          f"({cfg.launcher.kind} launcher)")
    failed = 0
    with tqdm(total=len(todo), unit="run", file=sys.stderr) as bar:
        for record in _launch(todo, suite.name, results_dir, cfg.launcher):
            failed += record["status"] != "ok"
            bar.update()
            bar.write(_summary(record))
    if cfg.report:
        from .env import ROOT
        from .report import build_report
        written = build_report(Path(results_dir) / "records", ROOT / "results" / "published", Path(results_dir))
        print(f"report: {written['markdown']}, {written['html']}")
    if failed:
        print(f"compare: {failed} of {len(todo)} runs failed; their records say why", file=sys.stderr)
    return 1 if failed else 0


def _launch(todo, suite_name, results_dir, launcher):
    if launcher.kind == "basic":
        for overrides in todo:
            yield _run_one(overrides, suite_name, results_dir)
        return
    if launcher.kind != "joblib":
        raise UsageError(f"launcher.kind={launcher.kind!r} is not one of basic, joblib")
    try:
        from joblib import Parallel, delayed
    except ImportError:
        raise UsageError("launcher=joblib needs the joblib package: pip install joblib (or use launcher=basic)") \
            from None
    threads = max(1, (os.cpu_count() or 1) // launcher.n_jobs)
    jobs = (delayed(_run_one)(o, suite_name, results_dir, threads) for o in todo)
    yield from Parallel(n_jobs=launcher.n_jobs, return_as="generator_unordered")(jobs)


def _summary(record) -> str:
    if record["status"] != "ok":
        return f"  FAILED {record['run_name']}: {record.get('error')}"
    accs = {k.split("/", 1)[1]: f"{v:.3f}" for k, v in record["metrics"].items() if k.startswith("test/acc")}
    return f"  {record['run_name']}: {accs} ({record['wall_time_s']:.0f} s)"


if __name__ == "__main__":
    sys.exit(main_guard(main, "compare"))
