"""Orders of points in 3-D space: the space-filling curves that serialise a point cloud (PointMamba, Point
Transformer V3) beside the 2-D grid orders of zoo.scan.grid.

A cloud has no grid, so its points are first quantised to integer cells of a 2^bits cube (`quantise`); an
order is then a pure function of those cells: the points sorted by their distance along the curve (stable, so
points in one cell keep their input order). Every function takes cells (..., n, 3) with any leading batch
dimensions and returns (perm, inv) of shape (..., n), sorting the last dimension; for one cloud (n, 3) that is
the (perm, inv) pair of zoo.scan.perm.

- `hilbert`: the 3-D Hilbert curve (Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707, 2004:
  the transpose form of the index, its bits then read out most significant first). Every step between
  consecutive cells of the full cube goes to a face neighbour.
- `trans_hilbert`: the Hilbert curve of the cells with the x and y axes swapped, as Point Transformer V3's
  "hilbert-trans" (and PointMamba's "Trans-Hilbert") computes it: the same kind of curve, entering the cube
  along another axis, so the neighbours it keeps together differ.
- `zorder`, `trans_zorder`: Morton order (the coordinates' bits interleaved), and on swapped axes.
"""
from __future__ import annotations

import torch

from .perm import Order, check_int

MAX_BITS = 21  # 3 * 21 = 63 bits: the index of a cell still fits a signed 64-bit integer
TRANSPOSE = [1, 0, 2]  # Point Transformer V3's "trans" orders swap x and y


def _check_cells(cells: torch.Tensor, bits: int) -> int:
    bits = check_int("bits", bits, 1)
    if bits > MAX_BITS:
        raise ValueError(f"bits={bits}: a 3-D curve index holds at most {MAX_BITS} bits per axis")
    if not isinstance(cells, torch.Tensor) or cells.dim() < 2 or cells.shape[-1] != 3:
        got = tuple(cells.shape) if isinstance(cells, torch.Tensor) else type(cells).__name__
        raise ValueError(f"cells has shape {got}, expected (..., n, 3): one integer cell per point")
    if cells.dtype.is_floating_point or cells.dtype == torch.bool:
        raise TypeError(f"cells has dtype {cells.dtype}, expected integers (see quantise)")
    if cells.numel() and (int(cells.min()) < 0 or int(cells.max()) >= 1 << bits):
        raise ValueError(f"cells hold values outside [0, {1 << bits}) for bits={bits}")
    return bits


def quantise(points: torch.Tensor, bits: int) -> torch.Tensor:
    """Points (..., n, 3) -> integer cells (..., n, 3) in [0, 2^bits): each cloud's bounding box scaled by its
    longest side (one cell size for all three axes, as a grid size does), so the curve sees the cloud's
    shape undistorted."""
    bits = check_int("bits", bits, 1)
    if points.dim() < 2 or points.shape[-1] != 3:
        raise ValueError(f"points has shape {tuple(points.shape)}, expected (..., n, 3)")
    p = points.detach().float()
    low = p.amin(-2, keepdim=True)
    side = (p.amax(-2, keepdim=True) - low).amax(-1, keepdim=True).clamp_min(1e-12)
    top = (1 << bits) - 1
    return ((p - low) / side * top).round().clamp(0, top).long()


def hilbert_index(cells: torch.Tensor, bits: int) -> torch.Tensor:
    """Distance along the 3-D Hilbert curve of the 2^bits cube to each cell (..., 3) -> (...)."""
    bits = _check_cells(cells, bits)
    x = [cells[..., i].long() for i in range(3)]
    # Skilling's AxestoTranspose: undo the excess work level by level (invert or exchange the low bits) ...
    q = 1 << (bits - 1)
    while q > 1:
        p = q - 1
        for i in range(3):
            hit = (x[i] & q) != 0
            t = (x[0] ^ x[i]) & p
            x0 = torch.where(hit, x[0] ^ p, x[0] ^ t)
            if i:
                x[i] = torch.where(hit, x[i], x[i] ^ t)
            x[0] = x0
        q >>= 1
    # ... then Gray-encode
    for i in range(1, 3):
        x[i] = x[i] ^ x[i - 1]
    t = torch.zeros_like(x[0])
    q = 1 << (bits - 1)
    while q > 1:
        t = torch.where((x[2] & q) != 0, t ^ (q - 1), t)
        q >>= 1
    x = [xi ^ t for xi in x]
    # the transpose form holds the index's bits spread over the axes: read them out, most significant first
    index = torch.zeros_like(x[0])
    for b in range(bits - 1, -1, -1):
        for i in range(3):
            index = (index << 1) | ((x[i] >> b) & 1)
    return index


def morton_index(cells: torch.Tensor, bits: int) -> torch.Tensor:
    """The cells' bits interleaved, x's lowest: (..., 3) -> (...)."""
    bits = _check_cells(cells, bits)
    index = torch.zeros_like(cells[..., 0].long())
    for b in range(bits):
        for i in range(3):
            index |= ((cells[..., i].long() >> b) & 1) << (3 * b + i)
    return index


def sort_by(key: torch.Tensor) -> Order:
    """(perm, inv) sorting the last dimension of `key` (stable); batched like `key`."""
    perm = torch.argsort(key, dim=-1, stable=True)
    inv = torch.empty_like(perm).scatter_(-1, perm, torch.arange(perm.shape[-1], device=perm.device).expand_as(perm))
    return perm, inv


def hilbert(cells: torch.Tensor, bits: int) -> Order:
    return sort_by(hilbert_index(cells, bits))


def trans_hilbert(cells: torch.Tensor, bits: int) -> Order:
    return sort_by(hilbert_index(cells[..., TRANSPOSE], bits))


def zorder(cells: torch.Tensor, bits: int) -> Order:
    return sort_by(morton_index(cells, bits))


def trans_zorder(cells: torch.Tensor, bits: int) -> Order:
    return sort_by(morton_index(cells[..., TRANSPOSE], bits))


POINT_ORDERS = {
    "hilbert": hilbert,
    "trans_hilbert": trans_hilbert,
    "zorder": zorder,
    "trans_zorder": trans_zorder,
}


def point_order(name: str, cells: torch.Tensor, bits: int) -> Order:
    """The 3-D order called `name` (a key of POINT_ORDERS) of `cells` (..., n, 3) in a 2^bits cube."""
    check_point_order(name)
    return POINT_ORDERS[name](cells, bits)


def check_point_order(name: str) -> str:
    if name not in POINT_ORDERS:
        raise ValueError(f"unknown point order {name!r}, expected one of {', '.join(sorted(POINT_ORDERS))}")
    return name
