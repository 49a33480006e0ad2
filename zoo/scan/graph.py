"""Node orders for graphs given as edge_index (2, E) with num_nodes nodes.

A graph has no natural sequence, so Graph-Mamba imposes one: by degree (with random
tie-breaking) or entirely at random, averaging over several permutations at eval.
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


def _uniform(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    # drawn where the generator lives (a CUDA generator cannot fill a CPU tensor)
    where = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=where, dtype=torch.float64).to(device)


def degree(edge_index: torch.Tensor, num_nodes: int, generator: torch.Generator | None = None,
           noise: bool = True) -> Order:
    """Graph-Mamba's order: nodes by degree ascending, so the best-connected nodes come last
    and, in a causal scan, see the most context.

    The degree of a node is how often it appears in edge_index[0] (undirected graphs list
    both directions). With noise, U[0, 1) is added to each degree: it never lifts a node
    past a higher degree but breaks ties at random (reproducibly for a seeded generator).
    Without noise, ties keep node-index order.
    """
    num_nodes = _check_graph(edge_index, num_nodes)
    key = torch.bincount(edge_index[0].long(), minlength=num_nodes).to(torch.float64)
    if noise:
        key = key + _uniform(num_nodes, generator, key.device)
    return with_inverse(torch.argsort(key, stable=True))


def random(num_nodes: int, generator: torch.Generator | None = None) -> Order:
    """A uniformly random node order (Graph-Mamba's permutation training and eval averaging)."""
    num_nodes = check_int("num_nodes", num_nodes, 0)
    device = generator.device if generator is not None else None
    return with_inverse(torch.randperm(num_nodes, generator=generator, device=device))


def _random_of_graph(edge_index: torch.Tensor, num_nodes: int, generator: torch.Generator | None = None) -> Order:
    return random(_check_graph(edge_index, num_nodes), generator=generator)


# One call shape for every entry, (edge_index, num_nodes, generator=None, **kw), so a
# config can switch orders without changing the call.
GRAPH_ORDERS = {
    "degree": degree,
    "random": _random_of_graph,
}


def graph_order(name: str, edge_index: torch.Tensor, num_nodes: int,
                generator: torch.Generator | None = None, **kw) -> Order:
    """The graph order called `name` (a key of GRAPH_ORDERS); extra keywords go to it, e.g. noise=False."""
    if name not in GRAPH_ORDERS:
        raise ValueError(f"unknown graph order {name!r}, expected one of {', '.join(sorted(GRAPH_ORDERS))}")
    return GRAPH_ORDERS[name](edge_index, num_nodes, generator=generator, **kw)
