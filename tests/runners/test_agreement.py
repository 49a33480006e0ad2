"""Two sets of records compared run by run: identical runs counted, the others ranked by how far their primary
metric moved, runs in one set only counted apart, and the exit status set by the tolerance."""
import pytest

from runners.suite import agreement

from .test_report import record, write


@pytest.fixture
def two_sets(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    same = record("mqar", "mamba", 0, {"test/acc": 0.5, "val/acc": 0.4})
    write(ours, same)
    write(theirs, same | {"device": "cpu: other CPU, AVX2 (1 threads)"})  # where it ran is not a metric
    write(ours, record("mqar", "s4d", 0, {"test/acc": 0.30, "val/acc": 0.2}))
    write(theirs, record("mqar", "s4d", 0, {"test/acc": 0.25, "val/acc": 0.2}))
    # a regression run whose primary metric agrees but another metric does not: still not identical
    write(ours, record("ett", "dlinear", 0, {"test/mse": 0.4, "test/mae": 0.3}, primary_metric="test/mse"))
    write(theirs, record("ett", "dlinear", 0, {"test/mse": 0.4, "test/mae": 0.31}, primary_metric="test/mse"))
    tuned = {"key": "optim.lr", "values": [0.001, 0.003]}
    write(ours, record("mqar", "mamba2", 0, {"test/acc": 0.9}, tuning=tuned,
                       command="python -m runners.train pipeline=mqar model.name=mamba2 optim.lr=0.003 seed=0"))
    write(theirs, record("mqar", "mamba2", 0, {"test/acc": 0.8}, tuning=tuned))
    write(ours, record("mqar", "transformer", 1, {"test/acc": 0.7}))          # only in ours
    write(theirs, record("mqar", "transformer", 0, {"test/acc": 0.7}))        # only in theirs (another seed)
    write(theirs, record("mqar", "transformer", 1, {"test/acc": 0.7}, status="failed", error="killed"))
    return ours, theirs


def test_runs_are_matched_by_hash_and_ranked_by_the_difference(two_sets):
    ours, theirs = (agreement.finished(p) for p in two_sets)
    found = agreement.compare(ours, theirs)
    assert [ours[key]["run_name"] for key in found["identical"]] == ["mqar/mamba/s0"]
    assert found["only_ours"] == 1 and found["only_theirs"] == 1
    assert [(ours[key]["run_name"], metric, round(delta, 6)) for delta, key, metric, _, _ in found["differ"]] == [
        ("mqar/mamba2/s0", "test/acc", 10.0), ("mqar/s4d/s0", "test/acc", 5.0),  # accuracies in points
        ("ett/dlinear/s0", "test/mse", 0.0)]


def test_the_summary_lists_the_differences_and_the_tolerance_sets_the_exit_status(two_sets, capsys):
    ours, theirs = two_sets
    assert agreement.main([str(theirs), "--records", str(ours)]) == 1
    out = capsys.readouterr().out
    assert "4 runs in both: 1 with identical metrics, 3 different, 2 of them beyond the tolerance 0" in out
    assert "1 only in ours, 1 only in theirs" in out
    first, second = [line for line in out.splitlines() if line.startswith("  ")][:2]
    assert first == "  language / mqar/mamba2/s0 optim.lr=0.003: test/acc 90.0 (ours) vs 80.0 (theirs), 10 points apart"
    assert second.startswith("  language / mqar/s4d/s0: test/acc 30.0 (ours) vs 25.0 (theirs), 5 points")
    assert "cpu: other CPU, AVX2 (1 threads)" in out
    assert agreement.main([str(theirs), "--records", str(ours), "--tolerance", "10"]) == 0


def test_a_folder_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match="agreement: .*nowhere is not a folder of records"):
        agreement.main([str(tmp_path / "nowhere"), "--records", str(tmp_path)])


def test_a_diverged_run_agrees_with_a_diverged_run_and_not_with_a_number(tmp_path):
    nan = float("nan")
    write(tmp_path / "a", record("mqar", "mamba", 0, {"test/acc": nan, "test/loss": nan}))
    write(tmp_path / "b", record("mqar", "mamba", 0, {"test/acc": nan, "test/loss": nan}))
    write(tmp_path / "a", record("mqar", "s4d", 0, {"test/acc": nan}))
    write(tmp_path / "b", record("mqar", "s4d", 0, {"test/acc": 0.5}))
    found = agreement.compare(agreement.finished(tmp_path / "a"), agreement.finished(tmp_path / "b"))
    assert len(found["identical"]) == 1
    [(delta, _, _, _, y)] = found["differ"]
    assert delta == float("inf") and y == 0.5
    assert agreement.main([str(tmp_path / "b"), "--records", str(tmp_path / "a"), "--tolerance", "100"]) == 1


def test_by_command_matches_runs_across_a_model_change(tmp_path):
    """A new builder revision gives every run a new hash; the same command still names the same run."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    old = record("mqar", "mamba", 0, {"test/acc": 0.2})
    write(theirs, old)
    write(ours, old | {"config_hash": "cd" * 32, "metrics": {"test/acc": 0.9}})
    assert agreement.compare(agreement.finished(ours), agreement.finished(theirs))["differ"] == []
    found = agreement.compare(agreement.finished(ours, "command"), agreement.finished(theirs, "command"))
    assert [(round(d, 6), x, y) for d, _, _, x, y in found["differ"]] == [(70.0, 0.9, 0.2)]
