"""The GPS family on PyTorch Geometric, one builder for three of the survey's graph models:

- `gps` (Rampášek et al. 2022): every layer a local MPNN beside global attention, PyG's own `GPSConv`;
- `graph_mamba` (Wang et al. 2024): the same layer with the attention replaced by a Mamba scan over the
  nodes in a graph order (zoo.graph.ordered), several orders averaged at evaluation;
- `gmn` (Behrouz & Hashemi 2024): random-walk tokens per node read by Mamba, then the ordered scan
  (zoo.graph.gmn), in the same layer;
- `gatedgcn`: the local MPNN alone.

The local MPNN is PyG's `ResGatedGraphConv`, Bresson & Laurent's gated graph conv (GPS uses its GatedGCN
form on PATTERN and CLUSTER, which also updates edge features). Inputs are a PyG batch: `x` (N, columns)
categorical, `pe` (N, pe_dim) positional encoding, `edge_attr` (E, columns) categorical or absent; outputs
(N, out_dim) per node or (graphs, out_dim) per graph.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import MIXER_NAMES
from ..registry import Example, register_builder
from .encoders import Categorical, NodeEncoder
from .gmn import GMNGlobal
from .ordered import OrderedMamba

LEVELS = ("node", "graph")
GLOBALS = (None, "attention", "mamba1", "mamba2", "gmn")
LOCALS = (None, "gatedgcn")


def _pyg():
    try:
        import torch_geometric.nn as pyg
    except ImportError:
        raise ImportError("the graph models need PyTorch Geometric: pip install 'mambazoo[graph]'") from None
    return pyg


class GraphLayer(nn.Module):
    """GPS's layer shape (PyG's GPSConv) with our global branch: h = norm(x + conv(x)) [+ norm(x + global(x))],
    then h + mlp(h), normed. Batch norm, as GPS uses on these sets."""

    def __init__(self, d_model: int, conv: nn.Module | None, glob: nn.Module | None, mlp_ratio: float,
                 dropout: float):
        super().__init__()
        self.conv, self.glob, self.dropout = conv, glob, dropout
        self.norm1 = nn.BatchNorm1d(d_model) if conv is not None else None
        self.norm2 = nn.BatchNorm1d(d_model) if glob is not None else None
        hidden = int(mlp_ratio * d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, d_model), nn.Dropout(dropout))
        self.norm3 = nn.BatchNorm1d(d_model)

    def forward(self, x, edge_index, batch, graphs, edge_attr=None, generator=None):
        hs = []
        if self.conv is not None:
            hs.append(self.norm1(x + F.dropout(self.conv(x, edge_index, edge_attr), self.dropout, self.training)))
        if self.glob is not None:
            h = self.glob(x, edge_index, batch, graphs, generator)
            hs.append(self.norm2(x + F.dropout(h, self.dropout, self.training)))
        h = sum(hs)
        return self.norm3(h + self.mlp(h))


class GraphNet(nn.Module):
    """Encoder, `layers` GPS-shaped layers, and a head per node or (mean-pooled) per graph.

    With an ordered global mixer the output depends on the node order: training draws one order per layer
    and step; evaluation averages the outputs of `eval_perms` draws from fixed seeds (Graph-Mamba's
    permutation averaging), or of `perms` given to forward."""

    def __init__(self, node_features, out_dim: int, level: str, pe_dim: int, edge_features, d_model: int,
                 layers: int, local: str | None, global_mixer: str | None, heads: int, order: str,
                 directions: str, merge: str, mixers: dict, mlp_ratio: float, dropout: float, eval_perms: int,
                 hops: int, walks: int):
        super().__init__()
        pyg = _pyg()
        if level not in LEVELS:
            raise ValueError(f"level={level!r} is not one of {', '.join(LEVELS)}")
        if local not in LOCALS:
            raise ValueError(f"local={local!r} is not one of {', '.join(map(str, LOCALS))}")
        if global_mixer not in GLOBALS:
            raise ValueError(f"global_mixer={global_mixer!r} is not one of {', '.join(map(str, GLOBALS))}")
        if local is None and global_mixer is None:
            raise ValueError("a graph model needs a local MPNN, a global mixer or both; both are None")
        if global_mixer == "attention" and d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads} (attention splits the width)")
        unknown = set(mixers or {}) - set(MIXER_NAMES)
        if unknown:
            raise ValueError(f"mixers has {sorted(unknown)[0]!r}; it takes {', '.join(MIXER_NAMES)}")
        self.level, self.eval_perms = level, int(eval_perms)
        self.ordered = global_mixer in ("mamba1", "mamba2", "gmn")  # gmn's walks are random too
        self.encoder = NodeEncoder(node_features, d_model, pe_dim)
        self.edge_encoder = Categorical(edge_features, d_model) if edge_features else None
        edge_dim = d_model if edge_features else None

        def conv():
            return pyg.ResGatedGraphConv(d_model, d_model, edge_dim=edge_dim) if local else None

        def layer():
            if global_mixer == "attention":  # GPS as PyG builds it
                return pyg.GPSConv(d_model, conv(), heads=heads, dropout=dropout, attn_type="multihead")
            mamba = "mamba1" if global_mixer == "gmn" else global_mixer
            settings = (mixers or {}).get(mamba, {})
            if global_mixer == "gmn":
                glob = GMNGlobal(d_model, hops, walks, order, directions, merge, mamba, **settings)
            else:
                glob = None if global_mixer is None else OrderedMamba(d_model, order, directions, merge, mamba,
                                                                      **settings)
            return GraphLayer(d_model, conv(), glob, mlp_ratio, dropout)

        self.layers = nn.ModuleList(layer() for _ in range(layers))
        self.head = nn.Linear(d_model, out_dim) if level == "node" else nn.Sequential(
            nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, out_dim))

    def forward(self, data, perms: int | None = None):
        if not self.ordered or self.training:
            return self._once(data, None)
        return self.draws(data, perms or self.eval_perms).mean(0)

    def draws(self, data, n: int) -> torch.Tensor:
        """(n, ...) outputs under the orders (and walks) drawn from seeds 0 .. n-1: the same for every model
        and every run, so evaluation is repeatable."""
        return torch.stack([self._once(data, torch.Generator(data.x.device).manual_seed(s)) for s in range(n)])

    def _once(self, data, generator):
        x, edge_index = self.encoder(data), data.edge_index
        batch = data.batch if data.batch is not None else torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        graphs = int(data.num_graphs)
        edge_attr = self.edge_encoder(data.edge_attr) if self.edge_encoder is not None else None
        for layer in self.layers:
            if isinstance(layer, GraphLayer):
                x = layer(x, edge_index, batch, graphs, edge_attr, generator)
            else:
                x = layer(x, edge_index, batch, edge_attr=edge_attr)
        if self.level == "graph":
            x = _pyg().global_mean_pool(x, batch, size=graphs)
        return self.head(x)


def _example() -> Example:
    return Example(dict(node_features=[3], out_dim=2, level="node", pe_dim=4), dict(d_model=16, layers=2), _graphs)


def _graphs(g: torch.Generator) -> tuple:
    """Two random graphs of 7 and 5 nodes in one PyG batch (PyG is imported here, not by the zoo)."""
    from torch_geometric.data import Batch, Data
    graphs = []
    for n in (7, 5):
        upper = (torch.rand(n, n, generator=g) < 0.4).triu(1)
        graphs.append(Data(x=torch.randint(0, 3, (n, 1), generator=g), edge_index=(upper | upper.T).nonzero().T,
                           pe=torch.rand(n, 4, generator=g)))
    return (Batch.from_data_list(graphs),)


@register_builder("graph_net", example=_example)
def graph_net(node_features, out_dim: int, level: str, pe_dim: int = 0, edge_features=None, d_model: int = 32,
              layers: int = 3, local: str | None = "gatedgcn", global_mixer: str | None = None, heads: int = 4,
              order: str = "degree", directions: str = "bidirectional", merge: str = "sum",
              mixers: dict | None = None, mlp_ratio: float = 2.0, dropout: float = 0.0, eval_perms: int = 1,
              hops: int = 3, walks: int = 4):
    return GraphNet(node_features, out_dim, level, pe_dim, edge_features, d_model, layers, local, global_mixer,
                    heads, order, directions, merge, mixers, mlp_ratio, dropout, eval_perms, hops, walks)
