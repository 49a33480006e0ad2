"""PATTERN and CLUSTER from the Benchmarking GNNs release (tasks/graph/release.py, kind graph_release), on a
tiny fake release written as PyG's GNNBenchmarkDataset reads it: `<root>/<NAME>/raw/<NAME>_v2.pt`, a list
of the train, val and test splits, each a list of dicts of Data fields (x one-hot floats, edge_index, y).
Also the plans of the graph kinds (io as their build's, sizes, example inputs every graph model runs)."""
import zipfile

import numpy as np
import pytest
import torch

pytest.importorskip("torch_geometric")
import zoo  # noqa: E402
from runners.run import train  # noqa: E402
from runners.run.config import compose  # noqa: E402
from tasks import kinds  # noqa: E402
from tasks.graph import plan, release, sbm  # noqa: E402
from tasks.graph.kind import COLOURS  # noqa: E402

COUNTS = (4, 2, 2)
GRAPH_MODELS = ("gps", "graph_mamba", "gmn", "gatedgcn")


def fake_splits(name: str) -> list[list[tuple]]:
    """Small SBM graphs (features (n, 1) ids, edges, labels) per split, drawn by our generator."""
    if name == "CLUSTER":
        return [sbm.cluster({"s": n}, seed)["s"] for seed, n in enumerate(COUNTS)]
    return [sbm.pattern({"s": n}, 1, seed)["s"] for seed, n in enumerate(COUNTS)]


def write_release(root, name: str) -> list[list[tuple]]:
    splits = fake_splits(name)
    width = COLOURS[name.lower()][0]
    stored = [[dict(x=torch.nn.functional.one_hot(torch.from_numpy(x[:, 0]), width).float(),
                    edge_index=torch.from_numpy(e), y=torch.from_numpy(y)) for x, e, y in graphs] for graphs in splits]
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    torch.save(stored, raw / f"{name}_v2.pt")
    return splits


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A PyG root holding both fake sets, and what was written into each."""
    root = tmp_path_factory.mktemp("pyg")
    return root, {name: write_release(root, name) for name in ("PATTERN", "CLUSTER")}


@pytest.mark.parametrize("name", ["PATTERN", "CLUSTER"])
def test_the_release_loads_as_our_graphs(fake, tmp_path, name):
    root, written = fake
    loaded = release.release(name, root, pe_steps=4, cache=tmp_path)
    assert [len(loaded[s]) for s in ("train", "val", "test")] == list(COUNTS)
    for graphs, ours in zip(loaded.values(), written[name]):
        for graph, (x, edges, labels) in zip(graphs, ours):
            # one-hot rows back to the colour ids our generated sets and the models' embeddings use
            assert graph["x"].dtype == torch.int64 and torch.equal(graph["x"], torch.from_numpy(x))
            assert torch.equal(graph["node_y"], torch.from_numpy(labels))
            assert torch.equal(graph["edge_index"], torch.from_numpy(edges))
            assert graph["pe"].shape == (len(labels), 4)


def test_feature_columns_are_read_as_one_hot_rows_or_ids_and_others_refused():
    ids = torch.tensor([0, 6, 2])
    assert torch.equal(release.colour_ids(torch.nn.functional.one_hot(ids, 7).float(), 7, "CLUSTER")[:, 0], ids)
    assert torch.equal(release.colour_ids(ids[:, None].float(), 7, "CLUSTER")[:, 0], ids)
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        release.colour_ids(torch.ones(3, 3), 7, "CLUSTER")
    with pytest.raises(ValueError, match="outside 0..2"):
        release.colour_ids(torch.tensor([[3]]), 3, "PATTERN")
    with pytest.raises(ValueError, match="labels must be ids 0..5, got torch.int64 0..6"):
        release.labels(torch.tensor([0, 6]), 6, "CLUSTER")


def test_the_conversion_is_kept_and_read_back_without_the_files(fake, tmp_path):
    root, _ = fake
    first = release.release("CLUSTER", root, pe_steps=4, cache=tmp_path)
    gone = tmp_path / "nothing here"
    assert release.converted(tmp_path, "CLUSTER", 4) and not release.converted(tmp_path, "CLUSTER", 8)
    again = release.release("CLUSTER", gone, pe_steps=4, cache=tmp_path)
    assert torch.equal(again["test"][1]["pe"], first["test"][1]["pe"]) and not gone.exists()
    data = kinds.resolve_data({"task": "cluster_release", "path": str(gone), "pe_steps": 4})
    assert kinds.kind_for("cluster_release").plan(data, str(tmp_path)).missing is None


def test_the_zip_put_in_raw_by_hand_is_unpacked(fake, tmp_path):
    root, written = fake
    raw = tmp_path / "PATTERN" / "raw"
    raw.mkdir(parents=True)
    with zipfile.ZipFile(raw / "PATTERN_v2.zip", "w") as z:
        z.write(root / "PATTERN" / "raw" / "PATTERN_v2.pt", "PATTERN_v2.pt")
    assert release.present(tmp_path, "PATTERN")
    loaded = release.release("PATTERN", tmp_path, pe_steps=2)
    assert len(loaded["train"]) == COUNTS[0] and torch.equal(loaded["val"][0]["node_y"],
                                                              torch.from_numpy(written["PATTERN"][1][0][2]))


def test_a_missing_release_fails_in_one_line_naming_the_download(tmp_path, monkeypatch):
    from torch_geometric.datasets import gnn_benchmark_dataset
    tried = []

    def offline(url, folder, *args, **kwargs):
        tried.append(url)
        raise OSError("network is unreachable")
    monkeypatch.setattr(gnn_benchmark_dataset, "download_url", offline)
    root = tmp_path / "pyg"
    data = kinds.resolve_data({"task": "pattern_release", "path": str(root)})
    missing = kinds.kind_for("pattern_release").plan(data, str(tmp_path)).missing
    with pytest.raises(FileNotFoundError) as error:
        release.release("PATTERN", root)
    message = str(error.value)
    assert tried == ["https://data.pyg.org/datasets/benchmarking-gnns/PATTERN_v2.zip"]
    assert "\n" not in message and message.startswith(missing)
    assert "PATTERN_v2.zip" in missing and str(root / "PATTERN" / "raw") in missing


def test_a_file_pyg_cannot_read_is_named_in_one_line(tmp_path):
    (tmp_path / "CLUSTER" / "raw").mkdir(parents=True)
    (tmp_path / "CLUSTER" / "raw" / "CLUSTER_v2.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="CLUSTER release in .*PyG could not read it") as error:
        release.release("CLUSTER", tmp_path)
    assert "\n" not in str(error.value)


def paper_run(pipeline, root, tmp_path, model="gatedgcn"):
    return [f"pipeline={pipeline}", f"model.name={model}", "model.d_model=16", f"data.path={root}",
            "data.batch_size=2", "trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.max_steps=2",
            "trainer.val_every_steps=2", "trainer.progress_bar=false", "logger=none", f"results_dir={tmp_path}",
            f"data_root={tmp_path}"]


GENERATED = ["pipeline=cluster", "model.name=gatedgcn", "data.n_train=4", "data.n_val=2", "data.n_test=2"]


@pytest.mark.parametrize("pipeline", ["pattern_paper", "cluster_paper", "cluster"])
def test_the_plan_gives_the_io_the_build_gives(fake, tmp_path, pipeline):
    root, _ = fake
    overrides = [*GENERATED, f"data_root={tmp_path}"] if pipeline == "cluster" else paper_run(pipeline, root, tmp_path)
    cfg = compose("train", overrides)
    built = kinds.build(cfg, lambda **io: zoo.create_model("gatedgcn", d_model=8, layers=1, **io))
    data = kinds.resolve_data(dict(cfg.data))
    planned = kinds.kind_for(data["task"]).plan(data, cfg.data_root)
    assert planned.io == built.io and planned.unit == built.unit and planned.missing is None
    assert built.data.describe()["sizes"] == dict(zip(("train", "val", "test"), COUNTS))


def test_a_paper_pipeline_trains_on_the_release(fake, tmp_path):
    root, _ = fake
    overrides = paper_run("pattern_paper", root, tmp_path)
    rec = train.run(compose("train", overrides), overrides)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["task"] == "PATTERN" and 0 <= rec["metrics"]["test/acc"] <= 1
    assert rec["data"]["sizes"] == {"train": 4, "val": 2, "test": 2} and "release" in rec["data"]["source"]


def test_generated_sizes_follow_the_sbm_settings():
    graphs = sbm.cluster({"s": 300}, 0)["s"]
    nodes, degree = plan.generated_stats("cluster")
    assert nodes == 117.0 and abs(np.mean([len(y) for _, _, y in graphs]) - nodes) < 0.03 * nodes
    edges = np.mean([e.shape[1] for _, e, _ in graphs]) / np.mean([len(y) for _, _, y in graphs])
    assert abs(edges - degree) < 0.05 * degree
    planned = kinds.kind_for("pattern").plan(kinds.resolve_data({"task": "pattern"}), None)
    assert planned.missing is None and planned.per_example == plan.generated_stats("pattern")[0]


@pytest.mark.parametrize("task", ["pattern", "cluster_release", "freesolv"])
def test_every_graph_model_runs_the_planned_example(tmp_path, task):
    planned = kinds.kind_for(task).plan(kinds.resolve_data({"task": task}), str(tmp_path))
    (batch,) = planned.example(2)
    assert batch.num_graphs == 2 and batch.num_nodes == 2 * round(planned.per_example if planned.unit == "nodes"
                                                                  else plan.FREESOLV_ATOMS)
    rows = batch.num_nodes if planned.io["level"] == "node" else 2
    for name in GRAPH_MODELS:
        out = zoo.create_model(name, **planned.io)(*planned.example(2))
        assert out.shape == (rows, planned.io["out_dim"]), name
