"""Graphs: node classification on the SBM sets and molecule regression (kinds `graph_node`, `graph_reg`)."""
from tasks.graph import kind  # noqa: F401  registers the kinds
