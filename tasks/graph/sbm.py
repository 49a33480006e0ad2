"""PATTERN and CLUSTER: the stochastic-block-model node-classification sets of Benchmarking GNNs (Dwivedi et
al.), regenerated with the settings of the authors' generator notebooks (graphdeeplearning/benchmarking-gnns,
data/SBMs/generate_SBM_{PATTERN,CLUSTER}.ipynb; cited in results/published/graph.yaml).

PATTERN: 5 communities of 5-34 nodes (numpy's randint(5, 35)), edges inside a community with p = 0.5 and
across with q = 0.35, node colours uniform in {0, 1, 2}. A pattern P (5-34 nodes, inner edges with p = 0.5,
colours uniform) is drawn once per pattern instance and planted in every graph of that instance, each
(P node, graph node) pair joined with q_P = 0.5; a node's label is 1 when it belongs to P.
CLUSTER: 6 communities of 5-34 nodes, p = 0.55, q = 0.25; one node per community shows its community's
number (1-6) as its feature, every other node 0; a node's label is its community.

Both shuffle each graph's nodes. The published sets are 10,000 / 2,000 / 2,000 PATTERN graphs (100 pattern
instances of 100 / 20 / 20) and 10,000 / 1,000 / 1,000 CLUSTER graphs; how many we draw is a setting.
A graph is (features (n, 1) int64, edge_index (2, E) int64 with both directions, labels (n,) int64).
"""
from __future__ import annotations

import numpy as np

PATTERN = dict(communities=5, size_min=5, size_max=35, p=0.5, q=0.35, colours=3, pattern_min=5, pattern_max=35,
               p_pattern=0.5, q_pattern=0.5)
CLUSTER = dict(communities=6, size_min=5, size_max=35, p=0.55, q=0.25)


def sbm(rng: np.random.Generator, sizes, p: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric boolean adjacency (no self-loops) with blocks of `sizes`: an edge inside a block with
    probability p, between blocks with q. Returns (adjacency (n, n), block of each node)."""
    block = np.repeat(np.arange(len(sizes)), sizes)
    chance = np.where(block[:, None] == block[None, :], p, q)
    upper = np.triu(rng.random(chance.shape) < chance, k=1)
    return upper | upper.T, block


def _edges(adjacency: np.ndarray) -> np.ndarray:
    return np.stack(np.nonzero(adjacency)).astype(np.int64)


def _shuffled(rng, adjacency, features, labels):
    order = rng.permutation(len(labels))
    return features[order][:, None].astype(np.int64), _edges(adjacency[np.ix_(order, order)]), \
        labels[order].astype(np.int64)


def pattern_graph(rng: np.random.Generator, pattern: tuple[np.ndarray, np.ndarray], s: dict = PATTERN):
    """One PATTERN graph: a fresh SBM with the instance's `pattern` (adjacency, colours) planted in it."""
    sizes = rng.integers(s["size_min"], s["size_max"], s["communities"])
    graph, _ = sbm(rng, sizes, s["p"], s["q"])
    colours = rng.integers(s["colours"], size=len(graph))
    inner, pattern_colours = pattern
    n, m = len(graph), len(inner)
    adjacency = np.zeros((n + m, n + m), dtype=bool)
    adjacency[:n, :n], adjacency[n:, n:] = graph, inner
    across = rng.random((n, m)) < s["q_pattern"]
    adjacency[:n, n:], adjacency[n:, :n] = across, across.T
    labels = np.r_[np.zeros(n), np.ones(m)]
    return _shuffled(rng, adjacency, np.r_[colours, pattern_colours], labels)


def new_pattern(rng: np.random.Generator, s: dict = PATTERN) -> tuple[np.ndarray, np.ndarray]:
    size = rng.integers(s["pattern_min"], s["pattern_max"])
    inner, _ = sbm(rng, [size], s["p_pattern"], 0.0)
    return inner, rng.integers(s["colours"], size=size)


def cluster_graph(rng: np.random.Generator, s: dict = CLUSTER):
    sizes = rng.integers(s["size_min"], s["size_max"], s["communities"])
    adjacency, block = sbm(rng, sizes, s["p"], s["q"])
    features = np.zeros(len(block), dtype=np.int64)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    features[starts + rng.integers(0, sizes)] = np.arange(1, len(sizes) + 1)  # one seed node per community
    return _shuffled(rng, adjacency, features, block)


def pattern(counts: dict[str, int], instances: int, seed: int) -> dict[str, list]:
    """{split: graphs}: `instances` patterns, each planted in counts[split] // instances graphs of every
    split (the published set: 100 instances, counts 10,000 / 2,000 / 2,000). Each pattern, and each split's
    graphs of it, come from their own stream of `seed`, so no split changes when another one's size does."""
    out = {split: [] for split in counts}
    for k in range(instances):
        planted = new_pattern(np.random.default_rng([seed, 0, k]))
        for index, (split, n) in enumerate(counts.items()):
            rng = np.random.default_rng([seed, 0, k, index + 1])
            out[split] += [pattern_graph(rng, planted) for _ in range(n // instances)]
    return out


def cluster(counts: dict[str, int], seed: int) -> dict[str, list]:
    """{split: graphs}, each split drawn from its own stream of `seed`."""
    out = {}
    for index, (split, n) in enumerate(counts.items()):
        rng = np.random.default_rng([seed, 1, index])
        out[split] = [cluster_graph(rng) for _ in range(n)]
    return out
