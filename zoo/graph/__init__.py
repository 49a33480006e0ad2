"""Graphs: the GPS family on PyTorch Geometric (GPS, Graph-Mamba, a gated-GCN MPNN) and GMN."""
from .model import GraphNet, graph_net

__all__ = ["GraphNet", "graph_net"]
