"""Suites through submitit: locally the same records as the basic launcher; on SLURM one job array with the
launcher's settings (against stand-in `srun` / `sbatch`); a job that dies is named in its failed record."""
import os
import stat

import pytest
from omegaconf import OmegaConf

from runners.suite import cluster
from runners.suite import compare
from runners.suite import workers
from runners.run.config import UsageError
from runners.run.env import ROOT
from runners.run.records import load_records

# one pipeline of the smoke suite, both its models, one thread each whichever launcher runs them
COMMON = ["trainer.max_steps=8", "trainer.val_every_steps=8", "data.n_train=64", "data.n_val=16", "data.n_test=16",
          "data.batch_size=16", "model.d_model=32", "trainer.threads=1"]
SMALL = ["suite=smoke", "suite.grid.0.pipelines=[mqar]", "suite.common=[" + ",".join(f"'{o}'" for o in COMMON) + "]"]


def test_a_suite_through_submitit_local_gives_the_records_of_the_basic_launcher(tmp_path):
    assert compare.main([*SMALL, f"results_dir={tmp_path / 'basic'}", "launcher=basic"]) == 0
    jobs = tmp_path / "jobs"
    # n_jobs = the core count: one torch thread per run, as in the basic launcher's runs above
    assert compare.main([*SMALL, f"results_dir={tmp_path / 'submitit'}", "launcher=submitit_local",
                         f"launcher.n_jobs={os.cpu_count()}", f"launcher.folder={jobs}"]) == 0
    basic, local = (sorted(load_records(tmp_path / d / "records"), key=lambda r: r["run_name"])
                    for d in ("basic", "submitit"))
    assert len(basic) == len(local) == 2 and all(r["status"] == "ok" for r in basic + local)
    for a, b in zip(basic, local):
        assert (a["run_name"], a["config_hash"], a["metrics"]) == (b["run_name"], b["config_hash"], b["metrics"])
    assert any(jobs.iterdir())  # the jobs' own logs are where the launcher said


def _stand_in(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def slurm(**settings):
    launcher = OmegaConf.load(ROOT / "conf" / "launcher" / "slurm.yaml")
    launcher.update(settings)
    return launcher


def test_slurm_runs_are_one_job_array_with_the_launchers_settings(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(bin_dir, "srun", "exit 0\n")
    _stand_in(bin_dir, "sbatch", f'cp "$1" {tmp_path}/submitted.sh\necho "Submitted batch job 42"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ex = cluster.executor(slurm(partition="gpu", account="proj", n_jobs=2, timeout_min=30, gpus_per_run=1),
                          tmp_path / "jobs")
    jobs = ex.map_array(workers.train, [["seed=0"], ["seed=1"], ["seed=2"]])
    assert [j.job_id for j in jobs] == ["42_0", "42_1", "42_2"]
    script = (tmp_path / "submitted.sh").read_text()
    for line in ("--array=0-2%2", "--partition=gpu", "--account=proj", "--time=30", "--gpus-per-node=1",
                 "--cpus-per-task=8", "--mem=32GB"):
        assert f"#SBATCH {line}\n" in script


def _runs(tmp_path, *extra):
    common = "suite.common=[" + ",".join(f"'{o}'" for o in [*COMMON, *extra]) + "]"
    suites = compare.members(compare.compose("compare", [*SMALL, common]).suite)
    return [compare.Run("smoke", o, compare.compose("train", [*o, f"results_dir={tmp_path}"]))
            for s in suites for o in compare.expand(s)]


def test_a_slurm_job_asks_for_its_runs_gpus_and_planned_time_unless_the_launcher_names_them(tmp_path):
    one, two = (_runs(tmp_path, "trainer.accelerator=gpu", f"trainer.devices={n}") for n in (1, 2))
    grouped = cluster.resources([*one, *two], slurm())
    assert sorted(gpus for gpus, _ in grouped) == [1, 2]  # both models' runs of one GPU count are one array
    assert all(len(runs) == len(one) for runs in grouped.values())
    assert min(minutes for _, minutes in grouped) >= 30  # the plan's floor: a tiny run still gets 30 minutes
    longer = _runs(tmp_path, "trainer.accelerator=gpu", "trainer.max_steps=800000")
    assert min(m for _, m in cluster.resources(longer, slurm())) > max(m for _, m in grouped)
    assert list(cluster.resources([*one, *two], slurm(gpus_per_run=4, timeout_min=60))) == [(4, 60)]


def test_a_paper_suite_goes_to_slurm_as_one_array_per_gpu_count_and_time_limit(tmp_path, monkeypatch):
    submitit = pytest.importorskip("submitit")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(bin_dir, "srun", "exit 0\n")
    _stand_in(bin_dir, "sbatch", f'n=$(ls {tmp_path} | grep -c submitted); cp "$1" {tmp_path}/submitted-$n.sh\n'
                                 'echo "Submitted batch job 4$n"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # the jobs end at once without running (no SLURM here): each run gets a failed record naming its job
    monkeypatch.setattr(submitit.SlurmJob, "done", lambda self, force_check=False: True)
    monkeypatch.setattr(submitit.SlurmJob, "result", lambda self: (1, "stand-in"))
    def points(*sets):
        return "[" + ",".join("[" + ",".join(f"'{o}'" for o in ["data.path=ETTh1", *s]) + "]" for s in sets) + "]"
    code = compare.main(["suite=paper_timeseries", "suite.seeds=[0]",
                         f"suite.grid.0.points={points([], ['trainer.devices=2'])}",
                         f"suite.grid.1.points={points(['trainer.max_steps=2000000'])}",
                         "launcher=slurm", f"launcher.folder={tmp_path / 'jobs'}", f"results_dir={tmp_path}",
                         "report=false"])
    assert code == 1
    scripts = sorted(p.read_text() for p in tmp_path.glob("submitted-*.sh"))
    assert len(scripts) == 3  # (1 GPU, the floor), (2 GPUs, the floor), (1 GPU, 2M steps' estimate)
    assert {next(line for line in s.splitlines() if "--gpus-per-node" in line) for s in scripts} == \
        {"#SBATCH --gpus-per-node=1", "#SBATCH --gpus-per-node=2"}
    assert any("#SBATCH --ntasks-per-node=2\n" in s and "#SBATCH --time=30\n" in s for s in scripts)
    assert any("#SBATCH --time=30\n" not in s for s in scripts)
    records = load_records(tmp_path / "records")
    assert len(records) == 3 and all(r["status"] == "failed" and "stand-in" in r["error"] for r in records)


def test_a_preempted_slurm_job_is_requeued_with_its_command():
    submitit = pytest.importorskip("submitit")
    again = cluster.Train().checkpoint(["pipeline=mqar", "seed=1"])
    assert isinstance(again, submitit.helpers.DelayedSubmission)
    assert isinstance(again.function, cluster.Train) and again.args == (["pipeline=mqar", "seed=1"],)


def test_slurm_where_there_is_none_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    with pytest.raises(UsageError, match=r"launcher.cluster=slurm: .*srun.*launcher=submitit_local") as err:
        cluster.executor(slurm(), tmp_path / "jobs")
    assert "\n" not in str(err.value)


def test_a_job_that_died_is_named_and_a_finished_one_reports_its_runs_exit():
    class Job:
        job_id = "42_1"

        def __init__(self, result):
            self._result = result

        def result(self):
            if isinstance(self._result, Exception):
                raise self._result
            return self._result

    died = Job(RuntimeError("Job 42_1 has not produced any output (state: TIMEOUT)\nmore detail"))
    assert cluster._why(died) == "job 42_1 did not finish: Job 42_1 has not produced any output (state: TIMEOUT)"
    assert cluster._why(Job((1, "train: run failed: boom"))) == \
        "the run's process exited with status 1: train: run failed: boom"
