"""Multi-direction scan sets (the survey's "stereo" scanning): several orders over the same tokens.

Each returns a list of (perm, inv) pairs; how their outputs are merged is the mixer
block's business, not this module's.
"""
from __future__ import annotations

import torch

from .grid import columns, snake, sweep
from .perm import Order, check_int, reverse, with_inverse


def bidirectional(order: Order) -> list[Order]:
    """Vim: the order and the same order walked backwards."""
    return [order, reverse(order)]


def _vertical_snake(H: int, W: int) -> Order:
    cells = torch.arange(H * W).view(H, W).t().contiguous()
    cells[1::2] = cells[1::2].flip(1)
    return with_inverse(cells.reshape(-1))


def cross4(H: int, W: int) -> list[Order]:
    """VMamba SS2D cross-scan: [row-major, column-major, row-major reversed, column-major reversed]."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    rows, cols = sweep(H, W), columns(H, W)
    return [rows, cols, reverse(rows), reverse(cols)]


def snake4(H: int, W: int) -> list[Order]:
    """PlainMamba's continuous scans: [horizontal snake, vertical snake, each reversed] —
    same layout as cross4, and every step in every direction is to a grid neighbour."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    horizontal, vertical = snake(H, W), _vertical_snake(H, W)
    return [horizontal, vertical, reverse(horizontal), reverse(vertical)]
