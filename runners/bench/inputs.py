"""Inputs of the scaling benchmark, one maker per input format: each takes the point's axis values (the one
being varied and the others at their defaults), the data shapes the models are built with (`io`) and the
batch, and returns the io the models are built with at that point and the arguments of their forward.

Only the shapes matter to the cost, so the values are random: token ids, images, a random graph of a fixed
average degree, a multivariate series.
"""
from __future__ import annotations

import torch


def tokens(axes: dict, io: dict, batch: int, gen: torch.Generator):
    """axes: length. (batch, length) token ids."""
    return io, (torch.randint(0, io["vocab_size"], (batch, axes["length"]), generator=gen),)


def images(axes: dict, io: dict, batch: int, gen: torch.Generator):
    """axes: side (pixels). Square images; the models are built for that side (their position tables)."""
    side = axes["side"]
    io = dict(io, image_size=[side, side])
    return io, (torch.randn(batch, io["in_channels"], side, side, generator=gen),)


def graphs(axes: dict, io: dict, batch: int, gen: torch.Generator):
    """axes: nodes, degree. `batch` graphs of `nodes` nodes, each node joined to degree/2 others drawn at random
    (both directions stored, so the average degree is `degree`), categorical node features and a random
    positional encoding of io's pe_dim columns."""
    from torch_geometric.data import Batch, Data

    n, half = axes["nodes"], max(1, axes["degree"] // 2)
    out = []
    for _ in range(batch):
        src = torch.arange(n).repeat_interleave(half)
        dst = (src + 1 + torch.randint(0, n - 1, (n * half,), generator=gen)) % n  # never a self-loop
        x = torch.stack([torch.randint(0, c, (n,), generator=gen) for c in io["node_features"]], dim=1)
        out.append(Data(x=x, edge_index=torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1),
                        pe=torch.rand(n, io["pe_dim"], generator=gen), num_nodes=n))
    return io, (Batch.from_data_list(out),)


def series(axes: dict, io: dict, batch: int, gen: torch.Generator):
    """axes: lookback, variates. (batch, lookback, variates) values; the models are built for both."""
    io = dict(io, lookback=axes["lookback"], n_vars=axes["variates"])
    return io, (torch.randn(batch, axes["lookback"], axes["variates"], generator=gen),)


MAKERS = {"tokens": tokens, "images": images, "graphs": graphs, "series": series}
