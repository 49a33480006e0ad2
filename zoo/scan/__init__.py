"""Token scan orders: pure functions from a grid or graph to a permutation and its inverse.

A mixer never reorders tokens itself; it is handed ``(perm, inv)`` from here and applies
``tokens[:, perm]`` before the scan and ``out[:, inv]`` after it.
"""
from .directions import bidirectional, cross4, snake4
from .graph import GRAPH_ORDERS, bfs, check_graph_order, degree, graph_order, random
from .grid import GRID_ORDERS, atrous, columns, grid_order, hilbert, local, snake, sweep, zorder
from .perm import Order, reverse, with_inverse, with_token
from .space import POINT_ORDERS, check_point_order, hilbert_index, point_order, quantise
from .plan import DIRECTION_SETS, Scan, grid_scan, image_scan, line_scan, parse_order

__all__ = [
    "Order", "with_inverse", "reverse", "with_token",
    "sweep", "columns", "snake", "zorder", "hilbert", "local", "atrous", "GRID_ORDERS", "grid_order",
    "bidirectional", "cross4", "snake4", "DIRECTION_SETS", "Scan", "grid_scan", "image_scan", "line_scan", "parse_order",
    "degree", "random", "bfs", "GRAPH_ORDERS", "graph_order", "check_graph_order",
    "POINT_ORDERS", "point_order", "check_point_order", "hilbert_index", "quantise",
]
