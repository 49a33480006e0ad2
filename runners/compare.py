"""A comparison suite: every (pipeline, model, configuration, seed) of `conf/suite/<name>.yaml`, one record each.

    python -m runners.compare suite=language                  # the default suite, then the report
    python -m runners.compare suite=language launcher=joblib  # two runs at a time
    python -m runners.compare suite=smoke results_dir=/tmp/r  # a tiny suite (tests, a first look)

Every run is checked before the first one starts (names, settings, parameter counts), so a typo fails
at once in one line. Each run is its leaderboard command, `python -m runners.train ...`, in a process of
its own: memory is measured from a clean start, and a run that crashes the interpreter cannot take the
suite down (it is recorded as failed, as is any run that fails while training). A run whose record
(same config hash, same suite) already exists is skipped, so an interrupted suite resumes where it stopped.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .config import UsageError, compose, main_guard
from .env import ROOT
from .records import find_record, record_path, write_record

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


def check_runs(suite, results_dir: str, extra: list[str] = ()) -> tuple[list, list[str]]:
    """Compose every run and build each distinct model and dataset once (no training). Returns the
    composed configs and the parameter-budget violations."""
    import zoo

    from .train import check_writable, prepare
    from .trainer import check_logger

    check_writable(Path(results_dir))
    configs, sizes = [], {}
    for overrides in expand(suite):
        cfg = compose("train", [*overrides, *extra, *_location(suite.name, results_dir)])
        configs.append(cfg)
        key = (cfg.pipeline_name, tuple(o for o in overrides if not o.startswith(("seed=", "model.name="))))
        if cfg.model.name not in sizes.setdefault(key, {}):
            check_logger(cfg)
            sizes[key][cfg.model.name] = zoo.count_parameters(prepare(cfg)[1].model)
    return configs, _param_mismatches(sizes)


def _param_mismatches(sizes) -> list[str]:
    lines = []
    for (pipeline, _), by_model in sizes.items():
        low, high = min(by_model.values()), max(by_model.values())
        if high > low * (1 + PARAM_TOLERANCE):
            counts = ", ".join(f"{m} {n:,}" for m, n in sorted(by_model.items(), key=lambda kv: kv[1]))
            lines.append(f"{pipeline}: parameter counts differ by more than {PARAM_TOLERANCE:.0%} ({counts})")
    return lines


def _location(suite_name, results_dir):
    return [f"suite_name={suite_name}", f"results_dir={results_dir}"]


def run_one(overrides: list[str], cfg, suite_name: str, results_dir: str) -> dict:
    """`python -m runners.train <overrides>` in a fresh process; its record, or a failed record written
    here when the process died before it could write one."""
    from .train import config_hash, run_name

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args = [sys.executable, "-m", "runners.train", *overrides, *_location(suite_name, results_dir),
            "trainer.progress_bar=false"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    digest = config_hash(cfg)
    suite_dir = Path(results_dir) / "records" / suite_name
    rec = find_record(suite_dir, digest)
    if rec is not None and rec.get("finished_at", "") >= started:
        return rec
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    rec = dict(status="failed", suite=suite_name, run_name=run_name(cfg), pipeline=cfg.pipeline_name,
               task=cfg.data.task, model=cfg.model.name, seed=cfg.seed, config_hash=digest, metrics={},
               error=f"the run's process exited with status {done.returncode}: {lines[-1] if lines else 'no output'}",
               command=" ".join(["python -m runners.train", *overrides]), finished_at=started)
    write_record(record_path(Path(results_dir) / "records", suite_name, rec["run_name"], digest), rec)
    return rec


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from tqdm import tqdm

    cfg = compose("compare", argv)
    suite, launcher = cfg.suite, cfg.launcher
    results_dir = str(Path(cfg.results_dir).resolve())  # the runs' processes start in the project root
    if launcher.kind not in ("basic", "joblib"):
        raise UsageError(f"launcher.kind={launcher.kind!r} is not one of basic, joblib")
    # two runs at a time share the cores; the thread count is part of each run's command and hash,
    # since float sums depend on it
    threads = [f"trainer.threads={max(1, (os.cpu_count() or 1) // launcher.n_jobs)}"] \
        if launcher.kind == "joblib" else []
    configs, mismatches = check_runs(suite, results_dir, threads)
    for line in mismatches:
        print(f"compare: warning: {line}", file=sys.stderr)
    from .train import config_hash
    runs = [([*o, *threads], c) for o, c in zip(expand(suite), configs)]
    suite_dir = Path(results_dir) / "records" / suite.name
    todo = [(o, c) for o, c in runs if not _finished(find_record(suite_dir, config_hash(c)), cfg.rerun_failed)]
    print(f"suite {suite.name}: {len(runs)} runs, {len(runs) - len(todo)} already recorded, {len(todo)} to run "
          f"({launcher.kind} launcher)", flush=True)
    failed = 0
    with tqdm(total=len(todo), unit="run", file=sys.stderr) as bar:
        for record in _launch(todo, suite.name, results_dir, launcher):
            failed += record["status"] != "ok"
            bar.update()
            bar.write(_summary(record))
    if cfg.report:
        from .report import build_report
        written = build_report(Path(results_dir) / "records", ROOT / "results" / "published", Path(results_dir))
        print(f"report: {written['markdown']}, {written['html']}")
    if failed:
        print(f"compare: {failed} of {len(todo)} runs failed; their records say why", file=sys.stderr)
    return 1 if failed else 0


def _finished(record, rerun_failed: bool) -> bool:
    return record is not None and (record["status"] == "ok" or not rerun_failed)


def _launch(todo, suite_name, results_dir, launcher):
    if launcher.kind == "basic":
        for overrides, cfg in todo:
            yield run_one(overrides, cfg, suite_name, results_dir)
        return
    try:
        from joblib import Parallel, delayed
    except ImportError:
        raise UsageError("launcher=joblib needs the joblib package: pip install joblib (or use launcher=basic)") \
            from None
    # the work happens in the runs' own processes; threads here only wait for them
    jobs = (delayed(run_one)(o, c, suite_name, results_dir) for o, c in todo)
    yield from Parallel(n_jobs=launcher.n_jobs, backend="threading", return_as="generator_unordered")(jobs)


def _summary(record) -> str:
    if record["status"] != "ok":
        return f"  FAILED {record['run_name']}: {record.get('error')}"
    accs = {k.split("/", 1)[1]: f"{v:.3f}" for k, v in record["metrics"].items() if k.startswith("test/acc")}
    return f"  {record['run_name']}: {accs} ({record['wall_time_s']:.0f} s)"


if __name__ == "__main__":
    sys.exit(main_guard(main, "compare"))
