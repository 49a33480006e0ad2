"""A suite end to end: records, report, resuming, and going on past a failed run."""
from runners import compare
from runners.records import load_records


def run_smoke(tmp_path, *extra):
    return compare.main(["suite=smoke", f"results_dir={tmp_path}", "launcher=basic", *extra])


def test_smoke_suite_records_reports_and_resumes(tmp_path, monkeypatch, capsys):
    from tasks.base import TokenTask
    from zoo.layers import AttentionMixer

    real_step = TokenTask.training_step

    def attention_dies(self, batch, batch_idx):
        if any(isinstance(m, AttentionMixer) for m in self.model.modules()):
            raise RuntimeError("attention diverged")
        return real_step(self, batch, batch_idx)
    monkeypatch.setattr(TokenTask, "training_step", attention_dies)
    assert run_smoke(tmp_path) == 1  # some runs failed
    records = load_records(tmp_path / "records")
    assert len(records) == 6
    assert {r["status"] for r in records if r["model"] == "transformerpp"} == {"failed"}
    assert {r["status"] for r in records if r["model"] == "mamba"} == {"ok"}
    board = (tmp_path / "leaderboard.md").read_text()
    assert "attention diverged" in board and (tmp_path / "index.html").exists()

    monkeypatch.setattr(TokenTask, "training_step", real_step)
    capsys.readouterr()
    assert run_smoke(tmp_path) == 0  # the failed runs again, the finished ones skipped
    assert "3 already recorded, 3 to run" in capsys.readouterr().out
    assert all(r["status"] == "ok" for r in load_records(tmp_path / "records"))
    assert run_smoke(tmp_path) == 0
    assert "6 already recorded, 0 to run" in capsys.readouterr().out


def test_joblib_launcher_records_the_thread_count_in_the_command(tmp_path):
    assert compare.main(["suite=smoke", f"results_dir={tmp_path}", "launcher=joblib", "launcher.n_jobs=2",
                         "suite.grid.0.pipelines=[mqar]", "report=false"]) == 0
    records = load_records(tmp_path / "records")
    assert len(records) == 2 and all("trainer.threads=1" in r["command"] for r in records)


def test_unknown_model_in_a_suite_fails_before_any_run(tmp_path, capsys):
    from runners.config import main_guard
    code = main_guard(lambda: compare.main(["suite=smoke", f"results_dir={tmp_path}",
                                            "suite.grid.0.models=[mamba,mambo]"]), "compare")
    assert code == 2 and "unknown model 'mambo'" in capsys.readouterr().err
    assert not (tmp_path / "records").exists() or load_records(tmp_path / "records") == []
