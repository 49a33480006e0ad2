"""Graphs: the GPS family on PyTorch Geometric (GPS, Graph-Mamba, a gated-GCN MPNN) and GMN."""
from ..registry import register_domain
from .model import GraphNet, graph_net

register_domain("graph", "Graph", rank=2)  # the survey's order in the report

__all__ = ["GraphNet", "graph_net"]
