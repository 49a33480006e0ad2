"""`plan=true`: every run of a suite costed without its data, its model built on the meta device."""
import csv

import pytest
import torch
from torch import nn

import zoo
from runners.run import train
from runners.run.config import compose
from runners.run.env import ROOT
from runners.suite import compare, plan
from tasks.kinds import kind_for, resolve_data

from .tiny import tiny


def _plan_rows(tmp_path, *overrides):
    assert compare.main([*overrides, "plan=true", f"results_dir={tmp_path}"]) == 0
    name = compose("compare", list(overrides)).suite.name
    with open(tmp_path / "plans" / f"{name}.csv") as f:
        return list(csv.DictReader(f))


def test_every_run_of_the_paper_suite_composes_and_is_planned_on_meta(tmp_path, monkeypatch, capsys):
    # counting a forward pass of every paper-size model takes minutes; its arithmetic is tested below
    monkeypatch.setattr(plan, "forward_flops", lambda model, inputs: 2 * zoo.count_parameters(model))
    rows = _plan_rows(tmp_path, "suite=survey_paper")
    suites = compare.members(compose("compare", ["suite=survey_paper"]).suite)
    # a tuned suite: every value on its tuning seeds, one run on each other seed
    assert len(rows) == sum(len(compare.groups(s)) * (len(compare.first_seeds(s)) * max(1, len(s.tune["values"]))
                                                      + len(s.seeds) - len(compare.first_seeds(s))) for s in suites)
    assert {r["run"].split(":")[0] for r in rows} == {s.name for s in suites}
    assert all(int(r["params"]) > 0 and float(r["est_gpu_hours"]) > 0 and int(r["gpus"]) >= 1
               and int(r["train_units"]) > 0 and r["unit"] and r["data_ready"] in ("yes", "no") for r in rows)
    assert all((r["data_ready"] == "no") == bool(r["missing"]) for r in rows)
    # a paper-size model is counted at the size its paper names: Vim-Ti's 7M, Mamba's 130M (with embedding)
    vim = next(r for r in rows if r["model"] == "vim (vim_ti)")
    assert abs(int(vim["params"]) - 7e6) < 0.05 * 7e6
    mamba = next(r for r in rows if r["model"] == "mamba (mamba_130m)")
    assert abs(int(mamba["params"]) - 130e6) < 0.05 * 130e6 and mamba["unit"] == "tokens"
    # nothing of ImageNet is here, and the printed plan says what to download
    out = capsys.readouterr().out
    assert "plan survey_paper: " in out and "estimated GPU-hours" in out
    assert all(r["data_ready"] == "no" for r in rows if r["run"].startswith("paper_vision: imagenet"))
    assert "https://image-net.org" in out
    # the committed plan (README's total) is the plan of these configs: `make plan SUITE=survey_paper` renews it
    with open(ROOT / "results" / "plans" / "survey_paper.csv") as f:
        committed = list(csv.DictReader(f))
    shape = ("run", "model", "params", "train_units", "unit", "gpus")
    assert [tuple(r[k] for k in shape) for r in committed] == [tuple(r[k] for k in shape) for r in rows]
    # and its costs are this code's: Mamba-130M on the Pile (FLOP-bound) costed again, FLOPs counted for real
    monkeypatch.undo()
    pile = next(r for r in committed if r["run"].startswith("paper_language: pile/mamba/s0"))
    cfg = compose("train", ["pipeline=pile", "model.name=mamba", "model.size=mamba_130m", f"results_dir={tmp_path}"])
    assert plan.cost(cfg)["est_gpu_hours"] == pytest.approx(float(pile["est_gpu_hours"]), rel=1e-3)


def test_a_runs_cost_is_its_training_flops_at_the_stated_utilisation_or_the_step_floor(tmp_path):
    layer = nn.Linear(10, 20)
    assert plan.forward_flops(layer, (torch.ones(3, 10),)) == 2 * 3 * 10 * 20
    base = ["pipeline=mqar", "model.name=mamba", f"results_dir={tmp_path}", "trainer.max_steps=1000",
            "data.batch_size=16"]
    cpu, gpus = (compose("train", [*base, *extra]) for extra in
                 ([], ["trainer.accelerator=gpu", "trainer.devices=4", "trainer.max_steps=1000000"]))
    row, big = plan.cost(cpu), plan.cost(gpus)
    seq_len = kind_for("mqar").plan(resolve_data(dict(cpu.data)), str(tmp_path)).per_example
    assert row["gpus"] == 0 and row["train_units"] == 1000 * 16 * seq_len and row["unit"] == "tokens"
    assert big["gpus"] == 4 and big["train_units"] == 4 * 1000 * row["train_units"]  # DDP: batch_size per GPU
    assert row["est_gpu_hours"] == pytest.approx(1000 * plan.STEP_FLOOR_S / 3600)  # a tiny model: the floor
    model = zoo.create_model("mamba", vocab_size=kind_for("mqar").plan(resolve_data(dict(cpu.data)), "").io["vocab_size"])
    flops = 3 * plan.forward_flops(model, (torch.zeros(1, int(seq_len), dtype=torch.long),)) * 4e6 * 16
    assert big["est_gpu_hours"] == pytest.approx(max(flops / (plan.UTILISATION * plan.PEAK_FLOPS),
                                                     4e6 * plan.STEP_FLOOR_S) / 3600, rel=1e-6)
    # the FLOPs of a Mamba language model are about two per parameter per token (the scan is not counted)
    lm = zoo.create_model("mamba", size="mamba_130m", vocab_size=50280)
    tokens = 256
    counted = plan.forward_flops(lm, (torch.zeros(1, tokens, dtype=torch.long),))
    assert 0.9 < counted / (2 * zoo.count_parameters(lm) * tokens) < 1.1


@pytest.mark.parametrize("overrides", [["pipeline=etth1", "model.name=s_mamba", "data.horizon=192"],
                                       ["pipeline=listops", "model.name=mamba_lra"],
                                       ["pipeline=pathfinder_seq", "model.name=s4d_lra"],
                                       ["pipeline=psmnist", "model.name=transformer_lra"]])
def test_the_plans_shapes_are_the_ones_a_run_builds(tmp_path, overrides):
    cfg = compose("train", [*overrides, *tiny(overrides), f"results_dir={tmp_path}", f"data_root={tmp_path}"])
    data = resolve_data(dict(cfg.data))
    planned = kind_for(data["task"]).plan(data, str(tmp_path))
    assert planned.io == train.prepare(cfg).io and planned.missing is None


def test_an_ett_file_not_downloaded_yet_is_planned_and_named_as_missing(tmp_path):
    data = resolve_data({"task": "forecast", "path": "ETTm2", "horizon": 720})
    planned = kind_for("forecast").plan(data, str(tmp_path))
    assert planned.io == dict(lookback=96, horizon=720, n_vars=7)
    assert "ETTm2.csv" in planned.missing and str(tmp_path / "ett" / "ETTm2.csv") in planned.missing
    (tmp_path / "ett").mkdir()
    (tmp_path / "ett" / "ETTm2.csv").write_text("date,a,b\n2016-07-01 00:00:00,1,2\n")
    assert kind_for("forecast").plan(data, str(tmp_path)).io["n_vars"] == 2


def test_a_job_gets_its_estimate_with_a_margin_and_at_least_half_an_hour():
    assert plan.timeout_min(dict(est_gpu_hours=8.0, gpus=4)) == 180  # 2 h on 4 GPUs, x1.5
    assert plan.timeout_min(dict(est_gpu_hours=0.001, gpus=1)) == 30
