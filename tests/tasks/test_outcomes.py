"""Per-example test outcomes: kept beside each record, and each test metric recomputed from them equals the
metric the run logged (so a bootstrap over them resamples the very number the leaderboard shows)."""
import json

import numpy as np
import pytest
import torch

from runners.run import train
from tasks import outcomes
from tests.runners.tiny import tiny

RUNS = [["pipeline=digits", "model.name=vit", "model.patch_size=2"],
        ["pipeline=etth1", "model.name=dlinear"],
        ["pipeline=pattern", "model.name=gatedgcn"],
        ["pipeline=freesolv", "model.name=gatedgcn"],
        ["pipeline=induction_heads", "model.name=s4d"],
        ["pipeline=wiki_bytes", "model.name=transformerpp"]]


@pytest.mark.parametrize("overrides", RUNS, ids=lambda o: o[0].split("=")[1])
def test_every_test_metric_is_recomputed_from_the_outcomes(overrides, tmp_path):
    args = overrides + tiny(overrides) + [f"results_dir={tmp_path}"]
    assert train.main(args) == 0
    record_file = next((tmp_path / "records").rglob("*.jsonl"))
    record = json.loads(record_file.read_text())
    kept = outcomes.load(record_file.with_name(record["outcomes"]))
    tested = {k for k in record["metrics"] if k.startswith("test/") and k != "test/loss"}
    assert tested <= set(kept), f"no outcomes for {tested - set(kept)}"
    for name, o in kept.items():
        assert o["num"].shape == o["den"].shape and len(o["num"]) > 1
        assert o["targets"] and o["kind"] in outcomes.KINDS
        assert outcomes.value(o["num"], o["den"], o["kind"]) == pytest.approx(record["metrics"][name], rel=2e-5, abs=1e-6)


def test_a_resample_recomputes_the_metric_and_the_targets_tell_test_sets_apart():
    store = outcomes.Outcomes()
    store.add("test/acc", torch.tensor([1.0, 0.0, 1.0, 1.0]), 1, torch.tensor([3, 1, 4, 1]))
    a = store.arrays()["test/acc"]
    assert outcomes.value(a["num"], a["den"]) == pytest.approx(0.75)
    idx = np.array([[0, 0, 1, 1], [2, 3, 2, 3]])  # two resamples at once, examples on axis 1
    assert outcomes.value(a["num"][idx], a["den"][idx], axis=1).tolist() == [0.5, 1.0]
    other = outcomes.Outcomes()
    other.add("test/acc", torch.tensor([1.0, 0.0, 1.0, 1.0]), 1, torch.tensor([3, 1, 4, 2]))
    assert other.arrays()["test/acc"]["targets"] != a["targets"]


def test_class_balanced_accuracy_averages_the_classes_not_the_nodes():
    store = outcomes.Outcomes()
    # graph 0: 3 of 4 class-0 nodes right; graph 1: 0 of 1 class-1 node right -> (0.75 + 0) / 2
    store.add("test/acc", torch.tensor([[3.0, 0.0], [0.0, 0.0]]), torch.tensor([[4.0, 0.0], [0.0, 1.0]]),
              torch.tensor([0, 1]))
    a = store.arrays()["test/acc"]
    assert outcomes.value(a["num"], a["den"]) == pytest.approx(0.375)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        outcomes.Outcomes().add("x", torch.ones(2), 1, torch.ones(2), kind="median")
