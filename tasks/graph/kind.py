"""The graph kinds: node classification on the SBM sets (`graph_node`: pattern, cluster) and graph
regression on molecules (`graph_reg`: freesolv)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..kinds import Built, Kind, register_kind
from . import molecules, sbm
from .data import GraphSet, cached, with_pe
from .task import GraphRegressTask, NodeClassifyTask

# the published sizes are 10,000 / 2,000 / 2,000 (PATTERN, 100 instances) and 10,000 / 1,000 / 1,000 (CLUSTER);
# the pipelines set ours. test_perms: the order counts the test split is also scored at (ordered models)
NODE_DEFAULTS = dict(n_train=10000, n_val=2000, n_test=2000, instances=100, seed=0, pe_steps=16, batch_size=32,
                     eval_batch_size=None, test_perms=[1, 2, 4, 8])
REG_DEFAULTS = dict(path=None, pe_steps=16, batch_size=32, eval_batch_size=None, test_perms=[1, 2, 4, 8])
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


def build_node(cfg, data: dict, make_model) -> Built:
    _check(data, "n_train", "n_val", "n_test", "instances", "pe_steps", "batch_size")
    task = data["task"]
    graphs = GraphSet(task.upper(), f"generated (Benchmarking GNNs' SBM settings, seed {data['seed']})",
                      _sbm_graphs(data, cfg.data_root), COLOURS[task], None, data["batch_size"],
                      data["eval_batch_size"], shuffle_seed=cfg.seed, describe=dict(points_axis="orders averaged"))
    io = dict(node_features=COLOURS[task], out_dim=CLASSES[task], level="node", pe_dim=graphs.pe_dim)
    return Built(data=graphs, task=NodeClassifyTask(make_model(**io), cfg, CLASSES[task], data["test_perms"]),
                 name=task.upper(), io=io, primary="test/acc", directions={"acc": "max", "loss": "min"},
                 unit="nodes", count=lambda batch: batch.num_nodes)


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
    io = dict(node_features=mols.node_features, edge_features=mols.edge_features, out_dim=1, level="graph",
              pe_dim=mols.pe_dim)
    return Built(data=mols, task=GraphRegressTask(make_model(**io), cfg, mean, std, data["test_perms"]),
                 name=name, io=io, primary="test/mae", directions={"mae": "min", "rmse": "min", "loss": "min"},
                 unit="graphs", count=lambda batch: batch.num_graphs)


def reg_name(data: dict) -> str:
    return "FreeSolv" if data.get("path") is None else Path(data["path"]).stem


NODE = register_kind(Kind("graph_node", tuple(CLASSES), NODE_DEFAULTS, build_node, lambda data: data["task"].upper(),
                          libraries=("torch_geometric",)))
REG = register_kind(Kind("graph_reg", ("freesolv",), REG_DEFAULTS, build_reg, reg_name,
                         libraries=("torch_geometric",)))
