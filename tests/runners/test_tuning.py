import pytest

from runners.suite.tuning import best, trial_steps

SPEC = {"key": "optim.lr", "values": [0.001, 0.003, 0.01], "metric": "val/acc", "mode": "max", "seeds": [0, 1]}


def trial(lr, seed, acc, steps, solved_at=0.99, status="ok"):
    return {"status": status, "seed": seed, "metrics": {"val/acc": acc} if status == "ok" else {}, "steps": steps,
            "protocol": {"optim": {"lr": lr}, "trainer": {"max_steps": 3000, "solved_at": solved_at}}}


def test_a_value_solved_on_every_tuning_seed_beats_one_solved_on_some():
    records = [trial(0.001, 0, 0.991, 2000), trial(0.001, 1, 0.992, 2500),   # solved on both, slower
               trial(0.003, 0, 0.999, 500), trial(0.003, 1, 0.60, 3000)]     # fast on seed 0, unsolved on seed 1
    steps = trial_steps(records, SPEC)
    assert steps == {0.001: [2000, 2500], 0.003: [500, None]}
    assert best({0.001: [0.991, 0.992], 0.003: [0.999, 0.60]}, SPEC, steps) == 0.001


@pytest.mark.parametrize("status", ["ok", "failed"])
def test_without_a_value_solved_on_every_seed_the_metric_decides(status):
    records = [trial(0.001, 0, 0.95, 3000), trial(0.001, 1, 0.98, 3000),
               trial(0.003, 0, 0.999, 500), trial(0.003, 1, 0.97, 3000, status=status)]
    steps = trial_steps(records, SPEC)
    assert steps[0.003] == [500, None]
    assert best({0.001: [0.95, 0.98], 0.003: [0.999, 0.0]}, SPEC, steps) == 0.001


def test_equal_steps_go_to_the_earlier_value_and_a_fixed_budget_has_no_steps():
    records = [trial(v, s, 0.995, 1000) for v in (0.003, 0.01) for s in (0, 1)]
    assert best({0.003: [0.995] * 2, 0.01: [0.995] * 2}, SPEC, trial_steps(records, SPEC)) == 0.003
    assert trial_steps([trial(0.001, 0, 0.999, 750, solved_at=None)], SPEC) == {}
