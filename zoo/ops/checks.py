"""Input validation shared by the scan-core entry points.

Every error names the argument, the shape (or dtype, or device) it got and what
was expected, so a wrong call fails at the boundary instead of deep inside a kernel.
"""
from __future__ import annotations

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Dims:
    """Named sizes learned from the first tensor that fixes them."""

    def __init__(self, **known: int):
        self.sizes = dict(known)

    def check(self, name: str, t, names: tuple[str, ...], device: torch.device | None = None,
              dtypes=FLOAT_DTYPES, optional: bool = False):
        if t is None:
            if optional:
                return None
            raise ValueError(f"{name} is required, expected shape ({', '.join(names)})")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in dtypes:
            allowed = ", ".join(str(d).replace("torch.", "") for d in dtypes)
            raise TypeError(f"{name} has dtype {str(t.dtype).replace('torch.', '')}, expected one of {allowed}")
        if device is not None and t.device != device:
            raise ValueError(f"{name} is on {t.device}, expected {device} (the device of the first input)")
        expected = self._expected(names)
        if t.dim() != len(names):
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {expected}")
        for axis, (dim_name, size) in enumerate(zip(names, t.shape)):
            want = self.sizes.setdefault(dim_name, size)
            if want != size:
                raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {expected} "
                                 f"(axis {axis}, {dim_name}, should be {want})")
        return t

    def _expected(self, names):
        return "(" + ", ".join(f"{n}={self.sizes[n]}" if n in self.sizes else n for n in names) + ")"


def check_divisible(what: str, total: int, name: str, parts: int):
    if parts < 1 or total % parts:
        raise ValueError(f"{what}={total} is not divisible by {name}={parts}: each group must hold the same "
                         f"number of {what.split('=')[0]}")


def compute_dtype(*tensors) -> torch.dtype:
    """float64 when any input is float64 (the oracle's precision), float32 otherwise."""
    return torch.float64 if any(t is not None and t.dtype == torch.float64 for t in tensors) else torch.float32


def grouped(dims: Dims, name: str, t, device, tail: tuple[str, ...], group_axis: int = 1):
    """B or C with a groups axis at `group_axis`; the form without it counts as one group."""
    ungrouped = ("batch",) + tail
    if isinstance(t, torch.Tensor) and t.dim() == len(ungrouped):
        dims.check(name, t, ungrouped, device)
        return t.unsqueeze(group_axis)
    names = list(ungrouped)
    names.insert(group_axis, "groups")
    return dims.check(name, t, tuple(names), device)


MASK_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64) + FLOAT_DTYPES


def check_mask(dims: Dims, mask, device):
    """The optional padding mask (batch, seqlen) as a bool tensor: True (nonzero) where a token is real."""
    mask = dims.check("mask", mask, ("batch", "seqlen"), device, dtypes=MASK_DTYPES, optional=True)
    return mask if mask is None or mask.dtype == torch.bool else mask != 0
