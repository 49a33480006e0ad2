"""Node orders for graphs given as edge_index (2, E) with num_nodes nodes, one graph or a batch of them.

A graph has no natural sequence, so Graph-Mamba imposes one: by degree (with random tie-breaking) or
entirely at random, averaging over several permutations at evaluation. A batch is PyG's layout: `batch`
(num_nodes,) gives each node's graph, ascending. Every order keeps the graphs contiguous and in batch order
and orders the nodes within each graph, in one sort for the whole batch (no loop over graphs), so
`x[perm]` can be cut into a padded dense batch graph by graph.
"""
from __future__ import annotations

import torch

from .perm import Order, check_int, with_inverse


def _check_graph(edge_index, num_nodes) -> int:
    num_nodes = check_int("num_nodes", num_nodes, 0)
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(f"edge_index must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index has shape {tuple(edge_index.shape)}, expected (2, num_edges)")
    if edge_index.dtype.is_floating_point or edge_index.dtype.is_complex or edge_index.dtype == torch.bool:
        raise TypeError(f"edge_index has dtype {str(edge_index.dtype).replace('torch.', '')}, expected an integer dtype")
    if edge_index.numel():
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            bad = low if low < 0 else high
            raise ValueError(f"edge_index holds node index {bad}, expected indices in [0, num_nodes={num_nodes})")
    return num_nodes


def _check_batch(batch, num_nodes: int, device) -> torch.Tensor:
    if batch is None:
        return torch.zeros(num_nodes, dtype=torch.long, device=device)
    if not isinstance(batch, torch.Tensor) or batch.shape != (num_nodes,):
        got = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise ValueError(f"batch has shape {got}, expected ({num_nodes},): one graph index per node")
    if num_nodes > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted ascending (PyG's layout: each graph's nodes contiguous)")
    return batch.long()


def _uniform(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    # drawn where the generator lives (a CUDA generator cannot fill a CPU tensor)
    where = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=where, dtype=torch.float64).to(device)


def _within_graphs(batch: torch.Tensor, key: torch.Tensor) -> Order:
    """Nodes sorted by `key` inside each graph, graphs kept in batch order: one stable sort by key, then
    one by graph, which keeps the key order inside each graph."""
    by_key = torch.argsort(key, stable=True)
    return with_inverse(by_key[torch.argsort(batch[by_key], stable=True)])


def _degree(edge_index, num_nodes: int) -> torch.Tensor:
    return torch.bincount(edge_index[0].long(), minlength=num_nodes).to(torch.float64)


def degree(edge_index: torch.Tensor, num_nodes: int, generator: torch.Generator | None = None,
           noise: bool = True, batch: torch.Tensor | None = None) -> Order:
    """Graph-Mamba's order: nodes by degree ascending, so the best-connected nodes come last
    and, in a causal scan, see the most context.

    The degree of a node is how often it appears in edge_index[0] (undirected graphs list
    both directions). With noise, U[0, 1) is added to each degree: it never lifts a node
    past a higher degree but breaks ties at random (reproducibly for a seeded generator).
    Without noise, ties keep node-index order.
    """
    num_nodes = _check_graph(edge_index, num_nodes)
    batch = _check_batch(batch, num_nodes, edge_index.device)
    key = _degree(edge_index, num_nodes)
    if noise:
        key = key + _uniform(num_nodes, generator, key.device)
    return _within_graphs(batch, key)


def random(num_nodes: int, generator: torch.Generator | None = None, batch: torch.Tensor | None = None) -> Order:
    """A uniformly random node order inside each graph (Graph-Mamba's permutation training and
    evaluation averaging)."""
    num_nodes = check_int("num_nodes", num_nodes, 0)
    device = generator.device if generator is not None else (batch.device if batch is not None else None)
    if batch is None:
        return with_inverse(torch.randperm(num_nodes, generator=generator, device=device))
    batch = _check_batch(batch, num_nodes, device)
    return _within_graphs(batch, _uniform(num_nodes, generator, batch.device))


def bfs(edge_index: torch.Tensor, num_nodes: int, generator: torch.Generator | None = None,
        noise: bool = True, batch: torch.Tensor | None = None) -> Order:
    """Breadth-first layers from each graph's best-connected node: the root first, then its neighbours,
    then theirs, so consecutive tokens are close in the graph (the graph analogue of a locality-keeping
    curve on a grid). Inside a layer nodes come at random (with noise) or by index; nodes the root cannot
    reach come last. One propagation per layer for the whole batch."""
    num_nodes = _check_graph(edge_index, num_nodes)
    batch = _check_batch(batch, num_nodes, edge_index.device)
    jitter = _uniform(num_nodes, generator, edge_index.device) if noise else torch.zeros(
        num_nodes, dtype=torch.float64, device=edge_index.device)
    if num_nodes == 0:
        return _within_graphs(batch, jitter)
    score = _degree(edge_index, num_nodes) + jitter
    graphs = int(batch[-1]) + 1
    best = torch.full((graphs,), -1.0, dtype=torch.float64, device=score.device).scatter_reduce(
        0, batch, score, "amax")
    reached = score == best[batch]  # the root of each graph (all tied nodes without noise)
    level = torch.where(reached, 0, num_nodes).to(torch.float64)
    src, dst = edge_index.long()
    for depth in range(1, num_nodes):
        frontier = torch.zeros(num_nodes, dtype=torch.bool, device=score.device)
        frontier[dst[reached[src] & ~reached[dst]]] = True
        if not frontier.any():
            break
        level[frontier] = float(depth)
        reached = reached | frontier
    return _within_graphs(batch, level + 0.5 * jitter)


def _random_of_graph(edge_index: torch.Tensor, num_nodes: int, generator: torch.Generator | None = None,
                     batch: torch.Tensor | None = None) -> Order:
    return random(_check_graph(edge_index, num_nodes), generator=generator, batch=batch)


# One call shape for every entry, (edge_index, num_nodes, generator=None, batch=None, **kw), so a
# config can switch orders without changing the call.
GRAPH_ORDERS = {
    "degree": degree,
    "random": _random_of_graph,
    "bfs": bfs,
}


def graph_order(name: str, edge_index: torch.Tensor, num_nodes: int,
                generator: torch.Generator | None = None, batch: torch.Tensor | None = None, **kw) -> Order:
    """The graph order called `name` (a key of GRAPH_ORDERS); extra keywords go to it, e.g. noise=False."""
    check_graph_order(name)
    return GRAPH_ORDERS[name](edge_index, num_nodes, generator=generator, batch=batch, **kw)


def check_graph_order(name: str) -> str:
    if name not in GRAPH_ORDERS:
        raise ValueError(f"unknown graph order {name!r}, expected one of {', '.join(sorted(GRAPH_ORDERS))}")
    return name
