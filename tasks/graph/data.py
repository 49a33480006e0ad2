"""LightningDataModule for graph sets: PyG `Data` graphs batched by PyG's `DataLoader`, each node carrying
the random-walk positional encoding `pe` (PyG's AddRandomWalkPE: the probability of returning to the node
after 1 .. pe_steps steps), which every model of a comparison receives alike.

Generated sets are kept under data_root/graph/ by their settings, written whole and then renamed, so runs in
parallel share one copy and never read half a file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import lightning as L
import numpy as np
import torch

from ..cache import write_whole
from ..resume import Resumable

SPLITS = ("train", "val", "test")
FORMAT = 1  # bump when what is stored changes


def _pyg():
    try:
        import torch_geometric
        from torch_geometric.data import Data
        from torch_geometric.loader import DataLoader
        from torch_geometric.transforms import AddRandomWalkPE
    except ImportError:
        raise ImportError("the graph tasks need PyTorch Geometric: pip install 'mambazoo[graph]'") from None
    return torch_geometric, Data, DataLoader, AddRandomWalkPE


def pack(graphs: list[dict]) -> dict:
    """Graphs of tensors -> one dict of concatenated tensors and their offsets (stored, then unpacked)."""
    keys = graphs[0].keys()
    out = {k: torch.cat([g[k] for g in graphs], dim=1 if k == "edge_index" else 0) for k in keys}
    out["nodes"] = torch.tensor([len(g["x"]) for g in graphs])
    out["edges"] = torch.tensor([g["edge_index"].shape[1] for g in graphs])
    return out


def unpack(packed: dict) -> list[dict]:
    nodes, edges = packed["nodes"].tolist(), packed["edges"].tolist()
    node_parts = {k: v.split(nodes) for k, v in packed.items() if k in ("x", "pe", "node_y")}
    edge_parts = {k: v.split(edges, dim=1 if k == "edge_index" else 0)
                  for k, v in packed.items() if k in ("edge_index", "edge_attr")}
    graph_y = packed.get("graph_y")
    return [dict({k: v[i] for k, v in {**node_parts, **edge_parts}.items()},
                 **({"graph_y": graph_y[i:i + 1]} if graph_y is not None else {})) for i in range(len(nodes))]


def with_pe(graph: dict, steps: int) -> dict:
    """`graph` with `pe` (n, steps) added by PyG's AddRandomWalkPE."""
    _, Data, _, AddRandomWalkPE = _pyg()
    data = Data(edge_index=graph["edge_index"], num_nodes=len(graph["x"]))
    return dict(graph, pe=AddRandomWalkPE(steps, "pe")(data).pe.float())


def stored_path(cache: str | Path | None, name: str, settings: dict) -> Path | None:
    """Where `cached` keeps the graphs of `name` made with `settings` (None: no cache)."""
    key = hashlib.sha256(json.dumps(dict(settings, format=FORMAT), sort_keys=True).encode()).hexdigest()[:16]
    return None if cache is None else Path(cache) / "graph" / f"{name}-{key}.pt"


def cached(cache: str | Path | None, name: str, settings: dict, make) -> dict[str, list[dict]]:
    """`make()` -> {split: graphs}, kept under cache/graph/ by `settings`."""
    stored = stored_path(cache, name, settings)
    if stored is not None and stored.exists():
        return {s: unpack(p) for s, p in torch.load(stored, weights_only=True).items()}
    splits = make()
    if stored is not None:
        write_whole(stored, lambda partial: torch.save({s: pack(g) for s, g in splits.items()}, partial))
    return splits


class GraphSet(L.LightningDataModule):
    """{split: [graph dicts]} -> PyG loaders. A graph dict holds x (n, columns) int64, edge_index (2, E),
    pe (n, steps), optionally edge_attr (E, columns), and node_y (n,) or graph_y (1,)."""

    def __init__(self, name: str, source: str, splits: dict[str, list[dict]], node_features: list[int],
                 edge_features: list[int] | None, batch_size: int, eval_batch_size: int | None,
                 shuffle_seed: int = 0, describe: dict | None = None):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: give a positive integer")
        empty = [s for s in SPLITS if not splits.get(s)]
        if empty:
            raise ValueError(f"{name}: the {empty[0]} split holds no graph; raise its count")
        _, Data, _, _ = _pyg()
        self.name, self.source = name, source
        self.node_features, self.edge_features = node_features, edge_features
        self.sets = {s: [Data(**{("y" if k in ("node_y", "graph_y") else k): v for k, v in g.items()})
                         for g in graphs] for s, graphs in splits.items()}
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.shuffle_seed = shuffle_seed
        self.extra = describe or {}

    @property
    def pe_dim(self) -> int:
        return int(self.sets["train"][0].pe.shape[-1])

    def describe(self) -> dict:
        nodes = [g.num_nodes for g in self.sets["train"]]
        return dict(dataset=self.name, source=self.source, sizes={s: len(g) for s, g in self.sets.items()},
                    nodes_per_graph=round(float(np.mean(nodes)), 1), pe=f"random walk, {self.pe_dim} steps",
                    **self.extra)

    def _loader(self, split: str, **kw):
        _, _, DataLoader, _ = _pyg()
        return DataLoader(self.sets[split], **kw)

    def train_dataloader(self):
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(self._loader("train", batch_size=self.batch_size, shuffle=True, generator=order))

    def val_dataloader(self):
        return self._loader("val", batch_size=self.eval_batch_size)

    def test_dataloader(self):
        return self._loader("test", batch_size=self.eval_batch_size)
