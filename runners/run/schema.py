"""Structured schemas for the Hydra configs: a misspelled or unknown key fails composition with the
key's full name and the config file it came from, instead of being silently ignored."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class OptimConf:
    lr: float = 1e-3
    weight_decay: float = 0.1
    betas: List[float] = field(default_factory=lambda: [0.9, 0.98])
    grad_clip: Optional[float] = 1.0


@dataclass
class ScheduleConf:
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1


@dataclass
class TrainerConf:
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    precision: str = "32-true"
    max_steps: int = 1000
    val_every_steps: int = 200               # validation every this many training steps
    limit_val_batches: Optional[int] = None
    log_every_n_steps: int = 25
    progress_bar: bool = True
    threads: Optional[int] = None            # torch CPU threads (None: torch's default)
    patience: Optional[int] = None           # stop after this many validations without a better val loss,
    #                                          and test the best weights (None: train all max_steps)
    solved_at: Optional[float] = None        # stop at the first validation whose val/acc reaches this: a
    #                                          task is solved there, and more steps only cost time
    checkpoint: bool = True                  # save the run's state after every validation; a run started
    #                                          again resumes from it (runners/run/checkpoints.py)
    keep_checkpoint: bool = False            # keep that file once the record is written
    keep_weights: bool = True                # save the tested weights beside the record (runners/generate.py)


@dataclass
class LoggerConf:
    kind: str = "csv"                        # csv | wandb | none; records are the source of truth either way
    project: str = "mambazoo"
    mode: str = "offline"                    # wandb mode; offline unless asked
    save_dir: str = "outputs/logs"


@dataclass
class TrainConf:
    model: Dict[str, Any] = field(default_factory=lambda: {"name": MISSING})  # name + settings (checked by zoo)
    pipeline_name: str = MISSING
    # the data settings of the pipeline's task kind, checked (and their defaults filled) by tasks.kinds
    data: Dict[str, Any] = field(default_factory=lambda: {"task": MISSING})
    optim: OptimConf = field(default_factory=OptimConf)
    schedule: ScheduleConf = field(default_factory=ScheduleConf)
    trainer: TrainerConf = field(default_factory=TrainerConf)
    logger: LoggerConf = field(default_factory=LoggerConf)
    seed: int = 0
    suite_name: str = "adhoc"               # the suite a run belongs to (its records folder)
    results_dir: str = "results"
    data_root: str = "data"                 # where downloaded data sets are cached (inside the project)


@dataclass
class GridConf:
    pipelines: List[str] = MISSING
    models: List[str] = MISSING
    points: List[List[str]] = field(default_factory=lambda: [[]])  # extra override sets, one run each
    param_tolerance: Optional[float] = 0.10  # models of one pipeline differ in size by at most this fraction
    #                                          (null where the architectures cannot match, e.g. DLinear)


@dataclass
class TuneConf:
    """One protocol setting tuned per model on validation (see runners/suite/tuning.py); no values: no tuning."""
    key: str = "optim.lr"
    values: List[Any] = field(default_factory=list)
    metric: str = "val/acc"
    mode: str = "max"                        # max | min: which direction of `metric` is better
    seeds: List[int] = field(default_factory=lambda: [0])  # the trials' seeds; the others use the choice


@dataclass
class MemberConf:
    """One suite of a composed suite (conf/suite/survey.yaml), run as itself: its records go to its own folder."""
    name: str = MISSING
    seeds: Optional[List[int]] = None        # None: the member's own seeds
    overrides: List[str] = field(default_factory=list)  # of the member suite, for this composition only,
    #                                          e.g. "grid.0.models=[mamba]"


@dataclass
class SuiteConf:
    name: str = MISSING
    description: str = ""
    seeds: List[int] = field(default_factory=lambda: [0, 1])
    common: List[str] = field(default_factory=list)  # overrides applied to every run of the suite
    grid: List[GridConf] = field(default_factory=list)
    tune: TuneConf = field(default_factory=TuneConf)
    suites: List[MemberConf] = field(default_factory=list)  # a composition of other suites, instead of a grid


@dataclass
class LauncherConf:
    kind: str = "basic"                      # basic (one run after another) | joblib (parallel processes)
    #                                          | submitit (each run a job: on SLURM, or on this machine)
    n_jobs: int = 2                          # runs at a time (submitit on SLURM: the job array's parallelism)
    # submitit only (runners/suite/cluster.py)
    cluster: str = "local"                   # slurm | local (the same code path, jobs on this machine)
    folder: str = "outputs/submitit"         # the jobs' logs and pickles, one folder per job
    timeout_min: Optional[int] = 240         # the time limit of one run (None on SLURM: from the run's plan)
    gpus_per_run: Optional[int] = 0          # None on SLURM: the GPUs the run's trainer uses
    cpus_per_run: Optional[int] = None       # None: the scheduler's default (SLURM) / all cores (local)
    mem_gb: Optional[int] = None
    partition: Optional[str] = None
    account: Optional[str] = None


@dataclass
class CompareConf:
    suite: SuiteConf = MISSING
    launcher: LauncherConf = field(default_factory=LauncherConf)
    results_dir: str = "results"
    rerun_failed: bool = True
    report: bool = True
    # a results folder whose tuning trials are recorded: each tuned (pipeline, model, point) runs only the value
    # its trials there chose (the whole grid where they chose none); None tunes here
    tuned_from: Optional[str] = None
    plan: bool = False                       # print and write each run's parameters and estimated cost, and
    #                                          train nothing (runners/suite/plan.py)


def register():
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConf)
    cs.store(name="compare_schema", node=CompareConf)
