"""Flattened scan orders for an H x W grid of tokens held in row-major order (index r*W + c).

The survey's "flattened" scanning modes: each function turns the grid into one 1-D path.
H and W need not be equal nor powers of two.
"""
from __future__ import annotations

import torch

from .perm import Order, check_int, with_inverse


def _cells(H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of every cell, in row-major order."""
    index = torch.arange(H * W)
    return index // W, index % W


def _visit_by(key: torch.Tensor) -> Order:
    # stable, so cells with equal keys keep row-major order among themselves
    return with_inverse(torch.argsort(key, stable=True))


def sweep(H: int, W: int) -> Order:
    """Row-major: the identity order."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    return with_inverse(torch.arange(H * W))


def columns(H: int, W: int) -> Order:
    """Column-major: down each column, the columns left to right."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    return with_inverse(torch.arange(H * W).view(H, W).t().reshape(-1))


def snake(H: int, W: int) -> Order:
    """Boustrophedon: even rows left to right, odd rows right to left, so every step is to a neighbour."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    grid = torch.arange(H * W).view(H, W)
    grid[1::2] = grid[1::2].flip(1)
    return with_inverse(grid.reshape(-1))


def _morton_code(rows: torch.Tensor, cols: torch.Tensor, bits: int) -> torch.Tensor:
    code = torch.zeros_like(rows)
    for b in range(bits):
        code |= ((cols >> b) & 1) << (2 * b)
        code |= ((rows >> b) & 1) << (2 * b + 1)
    return code


def zorder(H: int, W: int) -> Order:
    """Morton order: cells sorted by their row and column bits interleaved (column bit lowest).

    For sizes that are not powers of two the Z curve of the enclosing square is
    followed and the cells outside the grid are skipped.
    """
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    rows, cols = _cells(H, W)
    return _visit_by(_morton_code(rows, cols, (max(H, W) - 1).bit_length()))


def _hilbert_index(rows: torch.Tensor, cols: torch.Tensor, side: int) -> torch.Tensor:
    """Distance along the Hilbert curve of a side x side square (side a power of two) to each cell."""
    x, y = cols.clone(), rows.clone()
    d = torch.zeros_like(x)
    s = side // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        # quadrants are visited top-left, bottom-left, bottom-right, top-right at this level
        d += s * s * ((3 * rx.long()) ^ ry.long())
        x, y = x & (s - 1), y & (s - 1)
        # The first and last quadrants hold a turned copy of the curve, so that each
        # quadrant's path starts next to where the previous one ended.
        mirror = ~ry & rx
        x = torch.where(mirror, s - 1 - x, x)
        y = torch.where(mirror, s - 1 - y, y)
        x, y = torch.where(~ry, y, x), torch.where(~ry, x, y)
        s //= 2
    return d


def hilbert(H: int, W: int) -> Order:
    """Hilbert curve order, starting at the top-left cell; the curve of the enclosing
    power-of-two square ends at its top-right corner.

    On a 2^k x 2^k grid every step goes to a grid neighbour. Other sizes follow the curve
    of the enclosing power-of-two square and skip the cells outside the grid, so the
    path then jumps where it leaves the grid and comes back: locality mostly holds,
    adjacency not everywhere.
    """
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    rows, cols = _cells(H, W)
    side = 1 << (max(H, W) - 1).bit_length()
    return _visit_by(_hilbert_index(rows, cols, side))


def local(H: int, W: int, window: int) -> Order:
    """Windowed scan (LocalMamba): window x window tiles in row-major order, row-major inside each.

    Tiles on the right and bottom edges are smaller when window does not divide W or H.
    """
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    window = check_int("window", window, 1)
    rows, cols = _cells(H, W)
    tiles_per_row = -(-W // window)
    return _visit_by((rows // window) * tiles_per_row + cols // window)


def atrous(H: int, W: int, stride: int) -> Order:
    """Strided (dilated) scan: for each offset (i, j) in row-major order, the cells with
    r % stride == i and c % stride == j, row-major."""
    H, W = check_int("H", H, 1), check_int("W", W, 1)
    stride = check_int("stride", stride, 1)
    rows, cols = _cells(H, W)
    return _visit_by((rows % stride) * stride + cols % stride)


GRID_ORDERS = {
    "sweep": sweep,
    "columns": columns,
    "snake": snake,
    "zorder": zorder,
    "hilbert": hilbert,
    "local": local,
    "atrous": atrous,
}


def grid_order(name: str, H: int, W: int, **kw) -> Order:
    """The grid order called `name` (a key of GRID_ORDERS); extra keywords go to it, e.g. window=4."""
    if name not in GRID_ORDERS:
        raise ValueError(f"unknown grid order {name!r}, expected one of {', '.join(sorted(GRID_ORDERS))}")
    return GRID_ORDERS[name](H, W, **kw)
