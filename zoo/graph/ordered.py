"""Graph-Mamba's global module: each graph's nodes put in a sequence by a `zoo.scan` graph order, scanned by
a Mamba mixer in one or both directions, and the outputs put back in node order.

The batch is cut into a right-padded dense tensor graph by graph (the order keeps graphs contiguous). The
backward direction walks each graph's own sequence from its end, so in both directions the real nodes come
first and the padding last: a causal conv and a causal scan never carry padding into a real node, and no
graph sees another (tests/zoo/test_graph_models.py checks it against graphs run alone).
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import build_mixer
from ..layers.merge import MERGES as ALL_MERGES, POOLED, DirectionMerge
from ..scan import check_graph_order, graph_order

DIRECTIONS = ("forward", "bidirectional")
MERGES = tuple(m for m in ALL_MERGES if m not in POOLED)  # a pooled merge would see the batch's padding


def reversal(mask: torch.Tensor) -> torch.Tensor:
    """(graphs, longest) index that reverses each row's real part and leaves its padding in place; it is
    its own inverse."""
    counts = mask.sum(1, keepdim=True)
    slot = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask, counts - 1 - slot, slot)


class OrderedMamba(nn.Module):
    """(nodes (N, d_model), edge_index, batch, graphs) -> (N, d_model). `order`: a zoo.scan graph order
    (degree, random, bfs), drawn anew at every call (from `generator` where given); `directions`:
    'forward' or 'bidirectional' (the reverse walk has its own mixer); `mixer`: a zoo mixer name and its
    settings."""

    def __init__(self, d_model: int, order: str = "degree", directions: str = "bidirectional",
                 merge: str = "sum", mixer: str = "mamba1", **mixer_kwargs):
        super().__init__()
        self.order = check_graph_order(order)
        if directions not in DIRECTIONS:
            raise ValueError(f"directions={directions!r} is not one of {', '.join(DIRECTIONS)}")
        if merge not in MERGES:
            raise ValueError(f"merge={merge!r} is not one of {', '.join(MERGES)} for graphs")
        n = 1 if directions == "forward" else 2
        self.mixers = nn.ModuleList(build_mixer(mixer, d_model, **mixer_kwargs) for _ in range(n))
        self.merge = DirectionMerge(merge, n, d_model)

    def forward(self, x, edge_index, batch, graphs: int, generator: torch.Generator | None = None):
        perm, inv = graph_order(self.order, edge_index, x.shape[0], generator=generator, batch=batch)
        from torch_geometric.utils import to_dense_batch  # the graph extra; the registry imports zoo.graph without it
        dense, mask = to_dense_batch(x[perm], batch[perm], batch_size=graphs)
        ys = [self.mixers[0](dense)]
        if len(self.mixers) == 2:
            flip = reversal(mask)[..., None].expand_as(dense)
            ys.append(self.mixers[1](dense.gather(1, flip)).gather(1, flip))
        merged = self.merge(torch.stack(ys, 1), dense)
        return merged[mask][inv]
