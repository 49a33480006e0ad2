"""A block's scan plan from its settings: which orders walk an H x W grid, and how many.

`order` names one grid order or a list of them ("local:2" gives an order its window or stride);
`directions` walks each order forward only, or forward and backward, or is one of the fixed four-way
sets (VMamba's cross4, PlainMamba's snake4), which bring their own orders.
"""
from __future__ import annotations

import torch

from .directions import cross4, snake4
from .grid import GRID_ORDERS, grid_order
from .perm import Order, reverse, with_token

DIRECTION_SETS = ("forward", "bidirectional", "cross4", "snake4")
ORDER_ARGUMENT = {"local": "window", "atrous": "stride"}  # the orders that take a size: "local:4"


def parse_order(spec: str) -> tuple[str, dict]:
    """'sweep' -> ('sweep', {}); 'local:4' -> ('local', {'window': 4}); an unknown name is a ValueError."""
    name, _, size = str(spec).partition(":")
    sized = ", ".join(f"{k}:<{v}>" for k, v in ORDER_ARGUMENT.items())
    allowed = f"{', '.join(sorted(GRID_ORDERS))} (with a size: {sized})"
    if name not in GRID_ORDERS:
        raise ValueError(f"scan order {spec!r} is unknown; orders: {allowed}")
    if (name in ORDER_ARGUMENT) != bool(size):
        raise ValueError(f"scan order {spec!r}: " + (f"{name} needs a size, e.g. {name}:2" if name in ORDER_ARGUMENT
                                                     else f"{name} takes no size"))
    if not size:
        return name, {}
    if not size.isdigit() or int(size) < 1:
        raise ValueError(f"scan order {spec!r}: the {ORDER_ARGUMENT[name]} must be a positive integer")
    return name, {ORDER_ARGUMENT[name]: int(size)}


def grid_scan(order, directions: str, H: int, W: int) -> list[Order]:
    """The orders one block scans an H x W grid in, as (perm, inv) pairs."""
    if directions not in DIRECTION_SETS:
        raise ValueError(f"scan directions {directions!r} is unknown; direction sets: {', '.join(DIRECTION_SETS)}")
    names = [order] if isinstance(order, str) else list(order)
    if not names:
        raise ValueError("scan order is an empty list; name at least one order")
    if directions in ("cross4", "snake4"):
        if names != ["sweep"]:
            raise ValueError(f"directions={directions} brings its own four orders; leave order at 'sweep', "
                             f"got {order!r}")
        return (cross4 if directions == "cross4" else snake4)(H, W)
    orders = []
    for spec in names:
        name, size = parse_order(spec)
        if size and next(iter(size.values())) > min(H, W):
            raise ValueError(f"scan order {spec!r}: the {ORDER_ARGUMENT[name]} is larger than the {H}x{W} grid")
        orders.append(grid_order(name, H, W, **size))
    return orders if directions == "forward" else orders + [reverse(o) for o in orders]


class Scan:
    """The orders a block hands its mixer: `scan(n, device)` -> list of (perm, inv) over n tokens, built once
    per length and device. `count`: how many orders, known before any input."""

    def __init__(self, count: int, make):
        self.count, self._make, self._cache, self._stacked = count, make, {}, {}

    def __call__(self, n: int, device=None) -> list[Order]:
        key = (n, str(device))
        if key not in self._cache:
            self._cache[key] = [(p.to(device), i.to(device)) for p, i in self._make(n)]
        return self._cache[key]

    def stacked(self, n: int, device=None) -> Order:
        """Every walk in one index pair: x.index_select(1, perm) over (batch, n, ...) gives the walks one after
        another (batch, count * n, ...); y.index_select(1, inv) over that layout puts each walk's outputs back
        in token order. One gather instead of one per walk: its backward is one index_add, not `count` sorts."""
        key = (n, str(device))
        if key not in self._stacked:
            orders = self(n, device)
            self._stacked[key] = (torch.cat([p for p, _ in orders]),
                                  torch.cat([i + k * n for k, (_, i) in enumerate(orders)]))
        return self._stacked[key]


def line_scan(directions: str) -> Scan:
    """A 1-D sequence walked forward, or forward and backward."""
    if directions not in ("forward", "bidirectional"):
        raise ValueError(f"directions={directions!r} is not one of forward, bidirectional")
    return Scan(1 if directions == "forward" else 2, lambda n: grid_scan("sweep", directions, 1, n))


def image_scan(order, directions: str, H: int, W: int, token_at: int | None = None) -> Scan:
    """An H x W patch grid in row-major order; `token_at`: an extra (class) token sits at that index of the
    sequence and at that step of every walk (see with_token)."""
    orders = grid_scan(order, directions, H, W)
    if token_at is not None:
        orders = [with_token(o, token_at) for o in orders]
    n_tokens = H * W + (token_at is not None)

    def make(n):
        if n != n_tokens:
            raise ValueError(f"this scan walks {n_tokens} tokens ({H}x{W} grid"
                             f"{', class token' if token_at is not None else ''}), got {n}")
        return orders
    return Scan(len(orders), make)
