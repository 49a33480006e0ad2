"""Graph inputs to vectors: categorical node and edge features (PATTERN's colours, CLUSTER's seed labels,
a molecule's atom and bond attributes) as a sum of one embedding per column, plus the positional encoding
the data set computed (random-walk return probabilities), projected to the model width."""
from __future__ import annotations

import torch
from torch import nn


class Categorical(nn.Module):
    """(N, columns) integer features -> (N, dim): the sum of one embedding table per column, each sized to
    that column's number of values (`cardinalities`)."""

    def __init__(self, cardinalities, dim: int):
        super().__init__()
        cardinalities = [int(c) for c in cardinalities]
        if not cardinalities or min(cardinalities) < 1:
            raise ValueError(f"feature cardinalities must be a non-empty list of positive ints, got {cardinalities}")
        self.cardinalities = cardinalities
        self.tables = nn.ModuleList(nn.Embedding(c, dim) for c in cardinalities)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 1:
            features = features[:, None]
        if features.shape[-1] != len(self.tables):
            raise ValueError(f"got {features.shape[-1]} feature columns, the model was built for "
                             f"{len(self.tables)} (cardinalities {self.cardinalities})")
        return sum(table(features[:, i]) for i, table in enumerate(self.tables))


class NodeEncoder(nn.Module):
    """Node features and (when pe_dim > 0) the positional encoding `pe` (N, pe_dim), summed."""

    def __init__(self, node_features, dim: int, pe_dim: int = 0):
        super().__init__()
        self.features = Categorical(node_features, dim)
        self.pe = nn.Linear(pe_dim, dim) if pe_dim else None

    def forward(self, data) -> torch.Tensor:
        h = self.features(data.x)
        if self.pe is not None:
            h = h + self.pe(data.pe)
        return h
