"""The scaling benchmark: its rows (both models at every shared point, Mamba alone at the longer values, a
step over the time limit recorded and the larger values not run), resuming, the inputs' shapes, the peak
memory and interleaved timing it measures with, and the exponents and crossovers computed from the curves."""
import csv
import sys
import time

import pytest
import torch
import yaml

import zoo
from runners.bench import curves, inputs, measure, scaling

TINY = {"language": {"claim": "a test", "input": "tokens", "io": {"vocab_size": 16}, "batch": 1,
                     "axes": {"length": {"values": [8, 16], "longer": [32]}},
                     "pairs": [{"mamba": "mamba", "baseline": "transformerpp",
                                "sizes": {"larger": [{"d_model": 80}, {"d_model": 80}]}}]}}


def _run(tmp_path, *args, config=TINY):
    path = tmp_path / "scaling.yaml"
    path.write_text(yaml.safe_dump(config))
    assert scaling.main(["--config", str(path), "--out", str(tmp_path), *args]) == 0
    with (tmp_path / "scaling_language_cpu.csv").open() as f:
        return list(csv.DictReader(f))


def test_rows_longer_values_and_resuming(tmp_path):
    rows = _run(tmp_path, "--sizes", "suite,larger")
    got = {(r["size"], r["value"], r["model"], r["mode"]) for r in rows}
    shared = {(s, v, m, mode) for s in ("suite", "larger") for v in ("8", "16") for m in ("mamba", "transformerpp")
              for mode in ("train", "infer")}
    assert got == shared | {(s, "32", "mamba", mode) for s in ("suite", "larger") for mode in ("train", "infer")}
    assert all(r["status"] == "ok" and float(r["seconds"]) > 0 and int(r["repeats"]) >= 2 for r in rows)
    params = {(r["size"], r["model"]): int(r["params"]) for r in rows}
    assert params["larger", "mamba"] > params["suite", "mamba"]
    summary = list(csv.DictReader((tmp_path / "scaling_language_cpu_summary.csv").open()))
    assert {(s["size"], s["mode"], s["metric"]) for s in summary} == {
        (s, m, k) for s in ("suite", "larger") for m in ("train", "infer") for k in ("seconds", "peak_mb")}
    assert (tmp_path / "scaling_language_cpu.svg").read_text().count("<svg") == 1
    assert len(_run(tmp_path, "--sizes", "suite,larger")) == len(rows)  # a rerun measures nothing again


def test_over_time_stops_the_larger_values(tmp_path):
    rows = _run(tmp_path, "--sizes", "suite", "--max-seconds", "0", "--fresh")
    first = [r for r in rows if r["value"] == "8"]
    assert first and all(r["status"].startswith("over time") for r in first)
    later = [r for r in rows if r["value"] != "8"]
    assert later and all(r["status"].startswith("not run: over time at length=8") for r in later)


def test_first_keeps_the_smallest_values(tmp_path):
    assert {r["value"] for r in _run(tmp_path, "--sizes", "suite", "--first", "1")} == {"8"}


def test_profile_names_each_model_and_mode_and_refuses_a_bad_point(tmp_path, capsys):
    path = tmp_path / "scaling.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert scaling.main(["--config", str(path), "--profile", "language:mamba:suite:length:8"]) == 0
    out = capsys.readouterr().out
    for model in ("mamba", "transformerpp"):
        for mode in ("train", "infer"):
            assert f"== {model} (suite) {mode} at length=8" in out
    assert "Self CPU" in out
    with pytest.raises(SystemExit, match="domain:mamba_model:size:axis:value"):
        scaling.main(["--config", str(path), "--profile", "language:vim:suite:length:8"])


def test_default_config_names_models_and_sizes_that_exist():
    spec = scaling.load()
    for domain in spec.values():
        assert domain["input"] in inputs.MAKERS
        for pair in domain["pairs"]:
            for size, (mamba, baseline) in pair.get("sizes", {}).items():
                for name, chosen in ((pair["mamba"], mamba), (pair["baseline"], baseline)):
                    if isinstance(chosen, str):
                        assert zoo.size_spec(name, chosen)["name"] == chosen
                    else:
                        zoo.resolved_config(name, **chosen)  # raises on a setting the builder lacks


def test_unknown_axis_in_a_pair_is_an_error(tmp_path):
    bad = {"language": dict(TINY["language"], pairs=[dict(TINY["language"]["pairs"][0], axes=["width"])])}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="width"):
        scaling.load(path)


def test_inputs_shapes():
    gen = torch.Generator().manual_seed(0)
    io, (images,) = inputs.images({"side": 24}, {"in_channels": 3, "n_classes": 5}, 2, gen)
    assert io["image_size"] == [24, 24] and images.shape == (2, 3, 24, 24)
    io, (x,) = inputs.series({"lookback": 40, "variates": 5}, {"horizon": 8}, 3, gen)
    assert (io["lookback"], io["n_vars"]) == (40, 5) and x.shape == (3, 40, 5)
    _, (ids,) = inputs.tokens({"length": 12}, {"vocab_size": 7}, 2, gen)
    assert ids.shape == (2, 12) and int(ids.max()) < 7
    pytest.importorskip("torch_geometric")
    _, (graphs,) = inputs.graphs({"nodes": 50, "degree": 4}, {"node_features": [3, 2], "pe_dim": 6}, 2, gen)
    assert graphs.num_graphs == 2 and graphs.num_nodes == 100 and graphs.pe.shape == (100, 6)
    assert graphs.edge_index.shape[1] / graphs.num_nodes == 4  # the average degree asked for
    assert bool((graphs.edge_index[0] != graphs.edge_index[1]).all())  # no self-loops
    assert int(graphs.x[:, 1].max()) < 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CPU peak is read from /proc")
def test_peak_memory_sees_an_allocation():
    held = []
    peak = measure.peak_mb(lambda: held.append(torch.ones(64 * 2**18)), torch.device("cpu"))  # 64 MB
    assert 56 <= peak <= 80
    assert measure.peak_mb(lambda: None, torch.device("cpu")) < 16


def test_timed_interleaves_and_stops_a_slow_step():
    calls = []
    out = measure.timed({"a": lambda: calls.append("a"), "b": lambda: calls.append("b"),
                         "slow": lambda: time.sleep(0.05)}, torch.device("cpu"), max_seconds=0.01, min_total=0.0)
    assert isinstance(out["slow"], measure.OverTime)
    assert out["a"][1] == out["b"][1] == 2 and calls == ["a", "b", "a", "b", "a", "b"]


def test_exponent_crossover_and_ratio():
    xs = [100, 1000, 10000, 100000]
    linear = [(x, x * 1.0) for x in xs]
    quadratic = [(x, x * x / 1000) for x in xs]   # dearer than linear above x = 1000
    assert curves.exponent(quadratic) == pytest.approx(2.0)
    assert curves.exponent(linear[:1]) is None
    assert curves.crossover(linear, quadratic) == (pytest.approx(1000.0), "interpolated")
    assert curves.crossover(quadratic, linear)[1] == "dearer at the largest shared value"
    assert curves.crossover([(1, 1.0), (2, 1.0)], [(1, 2.0), (2, 2.0)]) == (1, "cheaper at every value")
    rows = [dict(pair="m", size="suite", axis="n", mode="train", role=role, model=model, value=str(x), status="ok",
                 seconds=str(y), peak_mb="") for role, model, curve in
            (("mamba", "m", linear), ("baseline", "t", quadratic)) for x, y in curve]
    rows.append(dict(rows[0], value="1000000", seconds="", status="out of memory"))
    (time_row, memory_row) = curves.summarise(rows)
    assert time_row["mamba_exponent"] == 1.0 and time_row["baseline_exponent"] == 2.0
    assert time_row["largest_shared"] == 100000 and time_row["ratio_at_largest"] == 100.0
    assert memory_row["crossover_note"] == "no shared value"
    assert curves.summarise(rows, {"n": 2})[0]["baseline_exponent"] == 1.0  # per token where tokens grow as n^2

