"""A suite's runs as submitit jobs: a SLURM job array (`launcher=slurm`), or the same code path on this machine
(`launcher=submitit_local`). Only the launching changes: compare still checks every run before the first
starts, skips recorded runs, writes a failed record for a job that dies, and reports.

Each job runs `runners.workers.train`, as the other launchers do, so a job is a run in a process of its own.
On SLURM a job asks for the GPUs its run's trainer uses (one task per GPU: Lightning takes its DDP ranks from
SLURM) and the time its plan estimates with a margin (runners/suite/plan.py), unless the launcher names
them; runs that ask for the same are one job array. A job pre-empted or out of time is requeued by SLURM and
its run resumes from its last checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path

from runners.suite import workers
from runners.run.config import UsageError
from runners.run.env import ROOT

try:
    from submitit.helpers import Checkpointable
except ImportError:  # executor() names the missing package when a suite asks for it
    Checkpointable = object

POLL_S = 2.0  # how often the waiting compare looks at the jobs


def executor(launcher, folder: Path):
    """submitit's executor for `launcher` (the submitit fields of runners.schema.LauncherConf)."""
    try:
        import submitit
    except ImportError:
        raise UsageError("launcher.kind=submitit needs the submitit package: pip install 'mambazoo[cluster]'") \
            from None
    if launcher.cluster not in ("local", "slurm"):
        raise UsageError(f"launcher.cluster={launcher.cluster!r} is not one of local, slurm")
    try:
        ex = submitit.AutoExecutor(folder=folder, cluster=launcher.cluster)
    except RuntimeError as exc:  # no srun here
        raise UsageError(f"launcher.cluster=slurm: {exc} (launcher=submitit_local runs the same jobs on this "
                         f"machine)") from None
    params = dict(name="mambazoo")
    if launcher.timeout_min is not None:
        params["timeout_min"] = launcher.timeout_min
    # locally gpus_per_node=0 would set CUDA_VISIBLE_DEVICES="" and hide this machine's GPUs from the runs
    if launcher.gpus_per_run:
        params["gpus_per_node"] = launcher.gpus_per_run
    if launcher.cluster == "slurm":
        optional = dict(cpus_per_task=launcher.cpus_per_run, mem_gb=launcher.mem_gb,
                        slurm_partition=launcher.partition, slurm_account=launcher.account)
        params.update({k: v for k, v in optional.items() if v is not None},
                      slurm_array_parallelism=launcher.n_jobs)
    ex.update_parameters(**params)
    return ex


def launch(todo, argv_of, settle, launcher, folder: Path):
    """Run `todo` (compare's runs) as jobs and yield each run's record as its job ends, in the order they end.
    `argv_of(run)`: the run's command line; `settle(run, why)`: its record, or a failed one saying `why`.
    On SLURM every run is one task of one job array; locally at most n_jobs run at once (submitit's local
    executor would start them all)."""
    ex = executor(launcher, Path(folder) if Path(folder).is_absolute() else ROOT / folder)
    waiting = list(todo)
    running = []
    if launcher.cluster == "slurm":
        for (gpus, minutes), runs in resources(waiting, launcher).items():
            ex.update_parameters(gpus_per_node=gpus, tasks_per_node=max(gpus, 1), timeout_min=minutes)
            running += zip(runs, ex.map_array(Train(), [argv_of(run) for run in runs]))
        waiting = []
    while running or waiting:
        while waiting and len(running) < launcher.n_jobs:
            run = waiting.pop(0)
            running.append((run, ex.submit(workers.train, argv_of(run))))
        done, still = [], []
        for item in running:
            (done if item[1].done() else still).append(item)
        running = still
        if not done:
            time.sleep(POLL_S)
        for run, job in done:
            yield settle(run, _why(job))


class Train(Checkpointable):
    """A SLURM job's run. Being checkpointable, it is requeued with the same command when SLURM pre-empts it
    or its time runs out, and the run resumes from the checkpoint it saved at its last validation."""

    def __call__(self, argv: list[str]) -> tuple[int, str]:
        return workers.train(argv)


def resources(runs, launcher) -> dict[tuple[int, int], list]:
    """Runs grouped by (GPUs, minutes) a job asks for: the launcher's where it names them, else the run's
    trainer's GPUs and its plan's estimate with a margin."""
    from runners.suite import plan
    estimates = plan.costs(runs) if launcher.timeout_min is None else [None] * len(runs)
    groups = {}
    for run, estimate in zip(runs, estimates):
        gpus = launcher.gpus_per_run if launcher.gpus_per_run is not None else plan.devices(run.cfg)
        minutes = launcher.timeout_min if estimate is None else plan.timeout_min(estimate)
        groups.setdefault((gpus, minutes), []).append(run)
    return groups


def _why(job) -> str:
    """What to say in a failed record if the run wrote none: its process's exit, or the job's own failure."""
    try:
        code, last_line = job.result()
    except Exception as exc:  # the job itself died: pre-empted, out of time, its node lost
        first = str(exc).strip().splitlines()
        return f"job {job.job_id} did not finish: {first[0] if first else type(exc).__name__}"
    return f"the run's process exited with status {code}: {last_line or 'no output'}"
