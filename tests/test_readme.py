"""The README's examples and commands keep working (docs that cannot rot)."""
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks, "README lost its runnable example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"\) (fused|chunked)\n", printed) and "torch.Size([2, 300, 4, 16])" in printed


def test_readme_quick_start_targets_exist():
    commands = re.findall(r"^make (\w[\w-]*)", README, re.M)
    assert {"reproduce", "test", "bench"} <= set(commands)
    targets = subprocess.run(["make", "-pRrq", "-f", str(ROOT / "Makefile")], capture_output=True, text=True,
                             cwd=ROOT).stdout
    for name in set(commands):
        assert re.search(rf"^{name}:", targets, re.M), f"README runs `make {name}`, which the Makefile lacks"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_models_table_is_the_registry():
    from zoo.__main__ import models_table
    table = README.split("<!-- models:start -->\n")[1].split("\n<!-- models:end -->")[0]
    assert table == models_table(), "README's model table is stale: paste the output of `python -m zoo`"


def readme_variant(builder):
    """The README's variant file for `builder` (one per domain)."""
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if f"builder: {builder}" in b]
    return block


def test_readme_variant_file_builds_a_model(tmp_path, monkeypatch):
    import torch

    from zoo import create_model, load_variants, registry
    block = readme_variant("language_model")
    spec = yaml.safe_load(block)
    (tmp_path / "v.yaml").write_text(block)
    registry._load_builtins()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    assert load_variants(tmp_path) == [spec["name"]]
    model = create_model(spec["name"], vocab_size=10)
    assert len(model.backbone.blocks) == len(spec["config"]["pattern"])
    assert model(torch.randint(0, 10, (1, 6))).shape == (1, 6, 10)


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="make reproduce needs the .venv")
def test_make_reproduce_on_the_smoke_suite(tmp_path):
    """`make reproduce` itself (its fast variant): the suite runs into a folder of its own, records land, the
    report is built, and it ends with the agreement against the committed records (none are of this suite)."""
    done = subprocess.run(["make", "-s", "reproduce", "SUITE=smoke", "LAUNCHER=basic", f"REPRO={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((tmp_path / "records" / "smoke").glob("*.jsonl"))) == 6
    assert (tmp_path / "leaderboard.md").exists() and (tmp_path / "index.html").exists()
    assert "0 runs in both" in done.stdout and "6 only in ours" in done.stdout


def train_readme_variant(builder, pipeline, tmp_path, monkeypatch):
    """The README's variant file for `builder` loaded from a folder, then a tiny run of it on `pipeline`."""
    from runners.run import train
    from runners.run.config import compose
    from tests.runners.tiny import tiny
    from zoo import load_variants, registry
    (tmp_path / "v.yaml").write_text(readme_variant(builder))
    registry._load_builtins()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    [name] = load_variants(tmp_path)
    overrides = [f"pipeline={pipeline}", f"model.name={name}"]
    overrides += tiny(overrides)
    return train.run(compose("train", [*overrides, f"results_dir={tmp_path}", f"data_root={tmp_path}"]), overrides)


def test_readme_forecasting_variant_file_trains(tmp_path, monkeypatch):
    rec = train_readme_variant("variate_forecaster", "etth1", tmp_path, monkeypatch)
    assert rec["status"] == "ok" and rec["taxonomy"]["domain"] == "timeseries"
    assert 0 < rec["metrics"]["test/mse"] < 10 and rec["data"]["horizon"] == 8


def test_readme_vision_variant_file_trains(tmp_path, monkeypatch):
    rec = train_readme_variant("vision_mamba", "digits", tmp_path, monkeypatch)
    assert rec["status"] == "ok" and rec["taxonomy"]["domain"] == "vision"
    assert 0 <= rec["metrics"]["test/acc"] <= 1 and rec["data"]["dataset"] == "digits"


def test_readme_graph_variant_file_trains(tmp_path, monkeypatch):
    rec = train_readme_variant("graph_net", "pattern", tmp_path, monkeypatch)
    assert rec["status"] == "ok" and rec["taxonomy"]["domain"] == "graph" and rec["model_config"]["order"] == "bfs"
    assert 0 <= rec["metrics"]["test/acc"] <= 1 and "test/acc@5" in rec["metrics"]


def test_the_paper_scale_total_is_the_committed_plans():
    import csv
    said = re.search(r"(\d+) runs, \*\*(\d+) estimated H100 GPU-hours\*\*", README)
    assert said, "README's Paper scale section lost its total"
    with open(ROOT / "results" / "plans" / "survey_paper.csv") as f:
        rows = list(csv.DictReader(f))
    assert int(said.group(1)) == len(rows)
    assert int(said.group(2)) == round(sum(float(r["est_gpu_hours"]) for r in rows))
