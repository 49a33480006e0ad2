"""What every scan order returns, and the argument checks the orders share.

An order is a pair ``(perm, inv)`` of 1-D ``torch.long`` tensors: ``perm[i]`` is the
natural (row-major, or node-id) index of the i-th token visited and ``inv`` undoes it,
so ``tokens[:, perm]`` reorders a sequence and ``out[:, inv]`` puts it back.
"""
from __future__ import annotations

import operator

import torch

Order = tuple[torch.Tensor, torch.Tensor]


def with_inverse(perm: torch.Tensor) -> Order:
    """Pair a permutation with its inverse."""
    perm = perm.to(torch.long)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel(), device=perm.device)
    return perm, inv


def reverse(order: Order) -> Order:
    """The same path walked from its other end."""
    perm, _ = order
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1:
        got = tuple(perm.shape) if isinstance(perm, torch.Tensor) else type(perm).__name__
        raise ValueError(f"order's perm is {got}, expected a 1-D torch.long tensor")
    return with_inverse(perm.flip(0))


def check_int(name: str, value, minimum: int) -> int:
    # bool is an int to Python, but H=True is always a slip, never a size
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool {value}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name}={value}, expected an int >= {minimum}")
    return value


def with_token(order: Order, position: int) -> Order:
    """`order` over n tokens extended to n + 1, where an extra token (a class token) sits at index
    `position` of the natural sequence and is also visited at step `position` (Vim's middle class token):
    the others keep their order, their indices shifted past it."""
    perm, _ = order
    n = perm.numel()
    position = check_int("position", position, 0)
    if position > n:
        raise ValueError(f"token position {position} is outside a sequence of {n + 1} tokens (0..{n})")
    shifted = perm + (perm >= position).long()
    return with_inverse(torch.cat([shifted[:position], torch.tensor([position]), shifted[position:]]))
