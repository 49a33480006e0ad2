"""A comparison suite: every (pipeline, model, configuration, seed) of `conf/suite/<name>.yaml`, one record each.

    python -m runners.compare suite=language                  # the default suite, then the report
    python -m runners.compare suite=language launcher=joblib  # two runs at a time
    python -m runners.compare suite=vision launcher=slurm launcher.partition=gpu  # a SLURM job array
    python -m runners.compare suite=smoke results_dir=/tmp/r  # a tiny suite (tests, a first look)
    python -m runners.compare suite=survey_paper plan=true    # each run's size and cost, nothing trained

Every run is checked before the first one starts (names, settings, parameter counts), so a typo fails at once
in one line. Each run is its leaderboard command, `python -m runners.train ...`, in a process of its own
(forked warm, runners/suite/workers.py): memory is measured from a clean start, and a run that crashes the
interpreter cannot take the suite down (it is recorded as failed, as is any run that fails while training). A
run whose record (same config hash, same suite) already exists is skipped, so an interrupted suite resumes
where it stopped, on any number of cores (the thread count is recorded, not hashed).

A suite with a `tune` block (runners/suite/tuning.py) runs in two rounds: first every grid value on the tuning
seeds, then the other seeds at the value each (pipeline, model, point) chose on validation. With
`tuned_from=<results folder>` the choices its records hold are taken instead, and the first round runs only
the chosen value (the whole grid where that folder has no finished trial of a group): `make reproduce` re-runs
the reported runs, not the search that chose their learning rates.

A composed suite (`suites:` instead of a grid, e.g. conf/suite/survey.yaml) runs its member suites as
themselves, each with the seeds its entry gives: every run of every member is checked first, the members'
runs share one pool round by round, and each run's record goes to its member's folder, so a member run
alone before or after finds the same records.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from runners.suite import tuning
from runners.suite import workers
from runners.run.config import UsageError, compose
from runners.run.env import ROOT, usable_cpus
from runners.run.identity import config_hash, run_name, setting
from runners.run.records import find_record, find_record_path, record_path, write_record

@dataclass
class Run:
    """One run of a suite: the suite it is recorded under, its overrides, its composed config, its tuning spec."""
    suite: str
    overrides: list
    cfg: object
    tune: dict | None = None
    before: dict | None = None  # its record when it was launched (a failed one), to tell a new one from it


def members(suite) -> list:
    """The suites `suite` runs: itself, or each member of a composition, composed from its own file with the
    entry's seeds and overrides, and the composition's `common` after the member's own."""
    if not suite.suites:
        if not suite.grid:
            raise UsageError(f"suite {suite.name!r} has neither a grid nor member suites")
        return [suite]
    if suite.grid:
        raise UsageError(f"suite {suite.name!r} has both a grid and member suites; give one of them")
    out = []
    for entry in suite.suites:
        member = compose("compare", [f"suite={entry.name}", *(f"suite.{o}" for o in entry.overrides)]).suite
        if member.suites:
            raise UsageError(f"suite {suite.name!r}: its member {entry.name!r} is a composition itself")
        if entry.seeds is not None:
            member.seeds = list(entry.seeds)
        member.common = [*member.common, *suite.common]
        out.append(member)
    return out


def groups(suite) -> list[list[str]]:
    """The overrides of every (pipeline, model, point) of the grid, without seed or tuned value."""
    return [[*suite.common, f"pipeline={pipeline}", f"model.name={model}", *point]
            for block in suite.grid for pipeline in block.pipelines for model in block.models
            for point in block.points]


def expand(suite, seeds=None, value_of=None) -> list[list[str]]:
    """The override list of every run on `seeds` (default: the suite's). Seeds vary slowest, so a stopped
    suite has whole seeds done. `value_of(i)` gives the tuned values group i runs at (default: the grid)."""
    s, values_of = tuning.spec(suite.tune), _values_of(suite, value_of)
    runs = []
    for seed in suite.seeds if seeds is None else seeds:
        for i, group in enumerate(groups(suite)):
            runs += [[*group, *([] if v is None else [tuning.override(s, v)]), f"seed={seed}"] for v in values_of(i)]
    return runs


def _values_of(suite, value_of=None):
    """The tuned values group i runs at: `value_of(i)`, else the whole grid; [None] in a suite not tuned."""
    s = tuning.spec(suite.tune)
    return (lambda i: [None]) if s is None else (value_of or (lambda i: s["values"]))


def first_seeds(suite) -> list:
    """The seeds of the first round: every seed, or only the tuning seeds of a tuned suite."""
    s = tuning.spec(suite.tune)
    if s is None:
        return list(suite.seeds)
    missing = [x for x in s["seeds"] if x not in suite.seeds]
    if missing:
        raise UsageError(f"suite.tune.seeds has {missing}, which suite.seeds={list(suite.seeds)} does not run")
    return s["seeds"]


def check_runs(suite, results_dir: str, extra: list[str] = (), value_of=None) -> tuple[list, list[str]]:
    """Compose every run of the first round (`value_of` as in `expand`) and build each distinct model and
    dataset once (no training). Returns the composed configs and the parameter-budget violations."""
    import zoo

    from runners.run.train import check_writable, prepare
    from runners.run.trainer import check_settings

    check_writable(Path(results_dir))
    configs, sizes = [], {}
    tolerance = {i: block.param_tolerance for i, block in enumerate(suite.grid)}
    seeds = first_seeds(suite)
    for overrides, block in zip(expand(suite, seeds, value_of), _blocks(suite, seeds, value_of)):
        cfg = compose("train", [*overrides, *extra, *_location(suite.name, results_dir)])
        configs.append(cfg)
        check_settings(cfg)
        key = (block, cfg.pipeline_name, setting(overrides))
        if cfg.model.name not in sizes.setdefault(key, {}):
            sizes[key][cfg.model.name] = zoo.count_parameters(prepare(cfg).task.model)
    return configs, _param_mismatches(sizes, tolerance)


def _blocks(suite, seeds, value_of=None) -> list[int]:
    """The grid block of every run `expand(suite, seeds, value_of)` lists, in the same order."""
    per_group = [i for i, block in enumerate(suite.grid)
                 for _ in range(len(block.pipelines) * len(block.models) * len(block.points))]
    values_of = _values_of(suite, value_of)
    return [b for _ in seeds for i, b in enumerate(per_group) for _ in values_of(i)]


def _param_mismatches(sizes, tolerance) -> list[str]:
    lines = []
    for (block, pipeline, _), by_model in sizes.items():
        tol = tolerance[block]
        low, high = min(by_model.values()), max(by_model.values())
        if tol is not None and high > low * (1 + tol):
            counts = ", ".join(f"{m} {n:,}" for m, n in sorted(by_model.items(), key=lambda kv: kv[1]))
            lines.append(f"{pipeline}: parameter counts differ by more than {tol:.0%} ({counts})")
    return lines


def _location(suite_name, results_dir):
    return [f"suite_name={suite_name}", f"results_dir={results_dir}"]


def run_one(run: Run, results_dir: str) -> dict:
    """`python -m runners.train <overrides>` in a process of its own (runners/suite/workers.py); its record."""
    code, last_line = workers.train(run_argv(run, results_dir))
    return settle(run, results_dir, f"the run's process exited with status {code}: {last_line or 'no output'}")


def run_argv(run: Run, results_dir: str) -> list[str]:
    return [*run.overrides, *_location(run.suite, results_dir), "trainer.progress_bar=false"]


def settle(run: Run, results_dir: str, why: str) -> dict:
    """The record the run wrote (stamped with its suite's tuning spec), or, where its process died before it
    could write one, a failed record saying `why`. A record other than the one there at launch is the run's:
    told by content, not by its time, since a compute node's clock need not agree with this one's."""
    cfg, digest = run.cfg, config_hash(run.cfg)
    suite_dir = Path(results_dir) / "records" / run.suite
    rec = find_record(suite_dir, digest)
    if rec is not None and rec != run.before:
        return stamp(suite_dir, digest, run.tune) or rec
    rec = dict(status="failed", suite=run.suite, run_name=run_name(cfg), pipeline=cfg.pipeline_name,
               task=task_name(cfg), model=cfg.model.name, seed=cfg.seed, config_hash=digest, metrics={},
               error=why, command=" ".join(["python -m runners.train", *run.overrides]), finished_at=_now())
    if run.tune:
        rec["tuning"] = run.tune
    write_record(record_path(Path(results_dir) / "records", run.suite, rec["run_name"], digest), rec)
    return rec


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def task_name(cfg) -> str:
    from omegaconf import OmegaConf

    from tasks.kinds import kind_for, resolve_data
    data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
    return kind_for(data["task"]).task_name(data)


def stamp(suite_dir: Path, digest: str, tune: dict | None) -> dict | None:
    """Add the tuning spec to a run's record (a run recorded before the suite was tuned gets it too)."""
    found = find_record_path(suite_dir, digest) if tune else None
    if found is None:
        return None
    path, rec = found
    if rec.get("tuning") != tune:
        rec = dict(rec, tuning=tune)
        rec.pop("schema", None)
        write_record(path, rec)
    return rec


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cfg = compose("compare", argv)
    launcher = cfg.launcher
    results_dir = str(Path(cfg.results_dir).resolve())  # the runs' processes start in the project root
    if launcher.kind not in ("basic", "joblib", "submitit"):
        raise UsageError(f"launcher.kind={launcher.kind!r} is not one of basic, joblib, submitit")
    # runs at a time on this machine share its cores; the thread count is in each run's command (float sums
    # depend on it) and record, but not in its hash, so a suite resumes on a machine with another core count
    shared = launcher.kind == "joblib" or (launcher.kind == "submitit" and launcher.cluster == "local")
    threads = [f"trainer.threads={max(1, usable_cpus() // launcher.n_jobs)}"] if shared else []
    suites = members(cfg.suite)
    if cfg.plan:
        return _plan(cfg, suites, results_dir)
    first = []
    for suite in suites:  # every run of every member checked before the first starts
        tune, seeds, value_of = _first_round(suite, cfg.tuned_from)
        configs, mismatches = check_runs(suite, results_dir, threads, value_of)
        for line in mismatches:
            print(f"compare: warning: {suite.name}: {line}", file=sys.stderr)
        first += [Run(suite.name, [*o, *threads], c, tune) for o, c in zip(expand(suite, seeds, value_of), configs)]
    tuned = [s for s in suites if tuning.spec(s.tune)]
    two_rounds = any(x not in first_seeds(s) for s in tuned for x in s.seeds)  # the survey's seed 0 is one
    names = [s.name for s in suites]
    failed = _round(first, names, results_dir, cfg, launcher, "round 1 of 2" if two_rounds else "")
    if tuned:  # the other seeds, each (pipeline, model, point) at the value it chose on validation
        second, choices = [], []
        for suite in tuned:
            tune = tuning.spec(suite.tune)
            chosen = choose(suite, tune, results_dir, threads)
            rest = [x for x in suite.seeds if x not in first_seeds(suite)]
            at_choice = expand(suite, rest, lambda i: [] if chosen[i] is None else [chosen[i]])
            second += [Run(suite.name, o, compose("train", [*o, *_location(suite.name, results_dir)]), tune)
                       for o in ([*o, *threads] for o in at_choice)]
            choices.append((suite, tune, chosen))
        if two_rounds:
            failed += _round(second, [s.name for s in tuned], results_dir, cfg, launcher, "round 2 of 2")
        for choice in choices:
            _print_choices(*choice)
    if cfg.report:
        from runners.report.build import build_report
        written = build_report(Path(results_dir) / "records", ROOT / "results" / "published", Path(results_dir))
        print(f"report: {written['markdown']}, {written['html']}")
    if failed:
        print(f"compare: {failed} runs failed; their records say why", file=sys.stderr)
    return 1 if failed else 0


def _first_round(suite, tuned_from):
    """(tuning spec, the first round's seeds, `value_of` for expand: the choices in `tuned_from`, or the grid)."""
    tune = tuning.spec(suite.tune)
    return tune, first_seeds(suite), reused(suite, tune, tuned_from) if tune and tuned_from else None


def _plan(cfg, suites, results_dir) -> int:
    """Print and write what every run of the suite would cost (runners/suite/plan.py); nothing is trained."""
    from runners.suite import plan
    runs = []
    for suite in suites:
        tune, seeds, value_of = _first_round(suite, cfg.tuned_from)
        runs += [Run(suite.name, o, compose("train", [*o, *_location(suite.name, results_dir)]))
                 for o in expand(suite, seeds, value_of)]
        rest = [x for x in suite.seeds if x not in seeds]
        if tune and rest:  # one run a seed at the value yet to be chosen; every value costs the same
            for o in expand(suite, rest, lambda i: [tune["values"][0]]):
                named = [f"{tune['key']}=<chosen>" if w == tuning.override(tune, tune["values"][0]) else w for w in o]
                runs.append(Run(suite.name, named, compose("train", [*o, *_location(suite.name, results_dir)])))
    rows = plan.rows(runs)
    print(plan.summary(cfg.suite.name, rows, plan.write(cfg.suite.name, rows, results_dir)))
    return 0


def _round(runs: list[Run], names: list[str], results_dir, cfg, launcher, title) -> int:
    """Run what is not recorded yet, the runs of every suite in `names` in one pool; the number that failed."""
    from tqdm import tqdm

    todo = []
    for name in dict.fromkeys(names):
        mine, left = [r for r in runs if r.suite == name], []
        suite_dir = Path(results_dir) / "records" / name
        for run in mine:
            found = find_record(suite_dir, config_hash(run.cfg))
            if _finished(found, cfg.rerun_failed):
                stamp(suite_dir, config_hash(run.cfg), run.tune)
            else:
                run.before = found
                left.append(run)
        print(f"suite {name}{' ' + title if title else ''}: {len(mine)} runs, {len(mine) - len(left)} "
              f"already recorded, {len(left)} to run ({launcher.kind} launcher)", flush=True)
        todo += left
    failed = 0
    with tqdm(total=len(todo), unit="run", file=sys.stderr) as bar:
        for record in _launch(todo, results_dir, launcher):
            failed += record["status"] != "ok"
            bar.update()
            bar.write(_summary(record))
    return failed


def choose(suite, tune: dict, results_dir: str, threads: list[str]) -> dict[int, object]:
    """{group index: the grid value it chose on validation} from the records of the tuning round."""

    suite_dir = Path(results_dir) / "records" / suite.name
    chosen = {}
    for i, group in enumerate(groups(suite)):
        records = []
        for seed in tune["seeds"]:
            for value in tune["values"]:
                cfg = compose("train", [*group, tuning.override(tune, value), f"seed={seed}", *threads,
                                        *_location(suite.name, results_dir)])
                records.append(find_record(suite_dir, config_hash(cfg)) or {})
        chosen[i] = tuning.choice(records, tune)[2]
    return chosen


def reused(suite, tune: dict, folder: str):
    """`value_of` for the first round of a suite tuned before: each group's choice by its trials recorded in
    `folder`, or the whole grid where that folder holds no finished trial of the group."""
    chosen = choose(suite, tune, str(Path(folder).resolve()), [])
    print(f"suite {suite.name}: {sum(v is not None for v in chosen.values())} of {len(chosen)} (pipeline, model, "
          f"point) at the {tune['key']} their trials in {folder} chose, the rest tuned here", flush=True)
    return lambda i: tune["values"] if chosen[i] is None else [chosen[i]]


def _print_choices(suite, tune, chosen):
    lines = [f"  {' '.join(o for o in g if o.startswith(('pipeline=', 'model.name=')))}: "
             + (f"{tune['key']}={chosen[i]}" if chosen.get(i) is not None else
                "NO CHOICE: no trial finished, so this group gets no second round (its failed runs are in the report)")
             for i, g in enumerate(groups(suite))]
    print(f"tuned {tune['key']} on {tune['metric']} ({tune['mode']}), seeds {tune['seeds']}:", *lines, sep="\n")


def _finished(record, rerun_failed: bool) -> bool:
    return record is not None and (record["status"] == "ok" or not rerun_failed)


def _launch(todo: list[Run], results_dir, launcher):
    if launcher.kind == "submitit":
        from runners.suite import cluster
        yield from cluster.launch(todo, lambda run: run_argv(run, results_dir),
                                  lambda run, why: settle(run, results_dir, why), launcher, launcher.folder)
        return
    if launcher.kind == "basic":
        for run in todo:
            yield run_one(run, results_dir)
        return
    try:
        from joblib import Parallel, delayed
    except ImportError:
        raise UsageError("launcher=joblib needs the joblib package: pip install joblib (or use launcher=basic)") \
            from None
    # the work happens in the runs' own processes; threads here only wait for them
    jobs = (delayed(run_one)(run, results_dir) for run in todo)
    yield from Parallel(n_jobs=launcher.n_jobs, backend="threading", return_as="generator_unordered")(jobs)


def _summary(record) -> str:
    if record["status"] != "ok":
        return f"  FAILED {record['run_name']}: {record.get('error')}"
    primary = record.get("primary_metric", "test/acc")
    shown = {k.split("/", 1)[1]: f"{v:.3f}" for k, v in record["metrics"].items()
             if k.startswith(primary.split("@")[0])}
    return f"  {record['run_name']}: {shown} ({record['wall_time_s']:.0f} s)"
