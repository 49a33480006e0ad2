"""A suite end to end: each run in its own process, records, report, resuming, going on past failures."""
import json

import pytest

from runners.suite import compare
from runners.run.records import load_records, write_record

from .test_workers import killed

# mamba and transformerpp on MQAR, each also once with a learning rate that drives the loss to NaN mid-run
TWO_POINTS = ["suite.grid.0.pipelines=[mqar]", "suite.grid.0.points=[[],['optim.lr=1e30']]"]


def run_smoke(tmp_path, *extra):
    return compare.main(["suite=smoke", f"results_dir={tmp_path}", "launcher=basic", *extra])


def test_suite_records_reports_resumes_and_goes_on_past_failures(tmp_path, capsys):
    assert run_smoke(tmp_path, *TWO_POINTS) == 1  # some runs failed
    records = load_records(tmp_path / "records")
    assert len(records) == 4
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 2 and all("optim.lr=1e30" in r["command"] and "became nan" in r["error"] for r in failed)
    ok = [r for r in records if r["status"] == "ok"]
    assert {r["model"] for r in ok} == {"mamba", "transformerpp"} and all(r["peak_mem_mb"] > 0 for r in ok)
    board = (tmp_path / "leaderboard.md").read_text()
    assert "training loss became nan" in board and (tmp_path / "index.html").exists()

    capsys.readouterr()
    assert run_smoke(tmp_path, *TWO_POINTS, "rerun_failed=false") == 0
    assert "4 already recorded, 0 to run" in capsys.readouterr().out
    assert run_smoke(tmp_path, *TWO_POINTS) == 1  # the failed ones again, the finished ones skipped
    assert "2 already recorded, 2 to run" in capsys.readouterr().out


def test_a_run_whose_process_dies_is_recorded_as_failed(tmp_path, monkeypatch):
    real = compare.workers.train
    # the process is killed before it writes anything (OOM killer, segfault)
    monkeypatch.setattr(compare.workers, "train", lambda argv: real(argv, target=killed))
    assert run_smoke(tmp_path, "suite.grid.0.pipelines=[mqar]", "suite.grid.0.models=[mamba]", "report=false") == 1
    [rec] = load_records(tmp_path / "records")
    assert rec["status"] == "failed" and rec["error"].endswith("status -9: Killed")


def test_a_record_written_by_a_node_whose_clock_is_behind_is_the_runs(tmp_path, monkeypatch):
    """A compute node's clock may lag the login node's: the run's record is told by content, not its time."""
    real = compare.workers.train

    def behind(argv):
        out = real(argv)
        for path in (tmp_path / "records").rglob("*.jsonl"):
            rec = json.loads(path.read_text())
            if rec["status"] == "ok":
                write_record(path, dict(rec, finished_at="2000-01-01T00:00:00+00:00"))
        return out
    one = ["suite.grid.0.pipelines=[mqar]", "suite.grid.0.models=[mamba]", "report=false"]
    # a failed record from before is there at launch; the rerun's good record replaces it and is kept
    monkeypatch.setattr(compare.workers, "train", lambda argv: real(argv, target=killed))
    assert run_smoke(tmp_path, *one) == 1
    monkeypatch.setattr(compare.workers, "train", behind)
    assert run_smoke(tmp_path, *one) == 0
    [rec] = load_records(tmp_path / "records")
    assert rec["status"] == "ok" and rec["finished_at"].startswith("2000")


def test_joblib_launcher_puts_the_thread_count_in_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "usable_cpus", lambda: 6)  # of the machine's cores, those this job was given
    assert compare.main(["suite=smoke", f"results_dir={tmp_path}", "launcher=joblib", "launcher.n_jobs=2",
                         "suite.grid.0.pipelines=[mqar]", "report=false"]) == 0
    records = load_records(tmp_path / "records")
    assert len(records) == 2 and all("trainer.threads=3" in r["command"] for r in records)


@pytest.mark.parametrize("cpu_max, cores", [(None, 4), ("max 100000", 4), ("200000 100000", 2), ("50000 100000", 1)])
def test_the_cores_a_run_may_use_are_its_affinity_and_cgroup_quota(tmp_path, monkeypatch, cpu_max, cores):
    from runners.run import env
    monkeypatch.setattr(env.os, "sched_getaffinity", lambda pid: {0, 2, 5, 7}, raising=False)  # SLURM's mask
    cgroup = tmp_path / "cpu.max"
    if cpu_max:
        cgroup.write_text(cpu_max + "\n")
    assert env.usable_cpus(cgroup) == cores


@pytest.mark.parametrize("override, message", [
    ("suite.grid.0.models=[mamba,mambo]", "unknown model 'mambo'"),
    ("suite.grid.0.points=[[],['optim.lr=inf']]", "optim.lr=inf: give a finite learning rate above 0"),
])
def test_a_bad_run_in_a_suite_fails_before_any_run(tmp_path, capsys, override, message):
    from runners.run.config import main_guard
    code = main_guard(lambda: compare.main(["suite=smoke", f"results_dir={tmp_path}", override]), "compare")
    assert code == 2 and message in capsys.readouterr().err
    assert load_records(tmp_path / "records") == []


def test_records_are_json_lines(tmp_path):
    assert run_smoke(tmp_path, "suite.grid.0.pipelines=[mqar]", "suite.grid.0.models=[mamba2]", "report=false") == 0
    [path] = (tmp_path / "records" / "smoke").glob("*.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["model"] == "mamba2"


def test_a_tuned_suite_trains_the_other_seeds_at_each_models_choice(tmp_path, capsys):
    tune = ["suite.grid.0.pipelines=[mqar]", "suite.seeds=[0,1]",
            "suite.tune.values=[0.001,0.03]"]
    assert run_smoke(tmp_path, *tune) == 0
    records = load_records(tmp_path / "records")
    assert len(records) == 6 and all(r["tuning"]["values"] == [0.001, 0.03] for r in records)
    for model in ("mamba", "transformerpp"):
        trials = {r["protocol"]["optim"]["lr"]: r["metrics"]["val/acc"] for r in records
                  if r["model"] == model and r["seed"] == 0}
        [final] = [r for r in records if r["model"] == model and r["seed"] == 1]
        best = max(trials.values())
        assert final["protocol"]["optim"]["lr"] == next(lr for lr in (0.001, 0.03) if trials[lr] == best)
    out = capsys.readouterr().out
    assert "round 1 of 2: 4 runs" in out and "round 2 of 2: 2 runs" in out and "tuned optim.lr" in out
    assert "Tuning:" in (tmp_path / "leaderboard.md").read_text()
    assert run_smoke(tmp_path, *tune, "report=false") == 0  # resumes: nothing left to run in either round
    out = capsys.readouterr().out
    assert "4 already recorded, 0 to run" in out and "2 already recorded, 0 to run" in out
    # a reproduction takes those choices: each model runs only its chosen value, on both seeds
    again = tmp_path / "again"
    assert compare.main(["suite=smoke", f"results_dir={again}", "launcher=basic", *tune, "report=false",
                         f"tuned_from={tmp_path}", "suite.grid.0.models=[mamba,mamba2]"]) == 0
    redone = load_records(again / "records")
    chosen = {r["model"]: r["protocol"]["optim"]["lr"] for r in records if r["seed"] == 1}
    assert sorted((r["model"], r["seed"]) for r in redone if r["model"] == "mamba") == [("mamba", 0), ("mamba", 1)]
    assert {r["protocol"]["optim"]["lr"] for r in redone if r["model"] == "mamba"} == {chosen["mamba"]}
    # mamba2 has no trial there, so it is tuned here: both values on seed 0, then its choice on seed 1
    assert sorted(r["seed"] for r in redone if r["model"] == "mamba2") == [0, 0, 1]
    assert "1 of 2 (pipeline, model, point) at the optim.lr their trials in" in capsys.readouterr().out


# two members of one composition: the smoke suite's MQAR runs on seed 1 and its induction-heads runs tuned on seed 0
MEMBERS = ("suite=survey", "suite.suites=[{name:smoke,seeds:[1],overrides:['grid.0.pipelines=[mqar]']},"
           "{name:smoke,overrides:['grid.0.pipelines=[induction_heads]','tune.values=[0.001,0.003]']}]")


def test_a_composed_suite_runs_its_members_as_themselves(tmp_path, capsys):
    assert compare.main([*MEMBERS, f"results_dir={tmp_path}", "launcher=basic", "report=false"]) == 0
    records = load_records(tmp_path / "records")
    assert {r["suite"] for r in records} == {"smoke"} and list((tmp_path / "records").iterdir()) == [tmp_path / "records" / "smoke"]
    mqar = [r for r in records if r["pipeline"] == "mqar"]
    induction = [r for r in records if r["pipeline"] == "induction_heads"]
    assert len(mqar) == 2 and {r["seed"] for r in mqar} == {1} and not any("tuning" in r for r in mqar)
    assert len(induction) == 4 and all(r["tuning"]["values"] == [0.001, 0.003] for r in induction)
    out = capsys.readouterr().out
    # the tuned member has no seed beyond its tuning seed: one round, not "1 of 2"
    assert "suite smoke: 6 runs, 0 already recorded, 6 to run" in out and "round" not in out
    # the member run alone finds the composition's records
    assert run_smoke(tmp_path, "suite.grid.0.pipelines=[mqar]", "suite.seeds=[1]", "report=false") == 0
    assert "2 runs, 2 already recorded, 0 to run" in capsys.readouterr().out


@pytest.mark.parametrize("override, message", [
    ("suite.suites=[{name:smoke},{name:smok}]", "Could not find 'suite/smok'"),
    ("suite.suites=[{name:survey}]", "its member 'survey' is a composition itself"),
    ("suite.suites=[{name:smoke,overrides:['grid.0.models=[mambo]']}]", "unknown model 'mambo'"),
    ("suite.grid=[{pipelines:[mqar],models:[mamba]}]", "has both a grid and member suites"),
    ("suite.suites=[]", "has neither a grid nor member suites"),
])
def test_a_bad_composition_fails_before_any_run(tmp_path, capsys, override, message):
    from runners.run.config import main_guard
    code = main_guard(lambda: compare.main(["suite=survey", f"results_dir={tmp_path}", override]), "compare")
    assert code == 2 and message in capsys.readouterr().err
    assert load_records(tmp_path / "records") == []


def test_a_bad_tuning_block_fails_before_any_run(tmp_path, capsys):
    from runners.run.config import main_guard
    bad = ["suite.tune.key=model.d_model", "suite.tune.values=[16,32]"]
    assert main_guard(lambda: run_smoke(tmp_path, *bad), "compare") == 2
    assert "only optimiser and schedule settings" in capsys.readouterr().err
    assert load_records(tmp_path / "records") == []
