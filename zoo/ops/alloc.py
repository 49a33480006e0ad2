"""Output buffers for the fast backends.

Every buffer is made `like` an input, so it lands on that input's device: a backend that mixed in a
CPU buffer would work on the CPU and fail (or silently copy) everywhere else. Tests set FILL_NAN so
that memory a kernel or loop forgets to write shows up as NaN instead of as whatever the allocator
happened to return.
"""
import torch

FILL_NAN = False


def empty(*shape, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """An uninitialised tensor of `shape` on `like`'s device, with `like`'s dtype unless `dtype` is given."""
    t = torch.empty(*shape, dtype=like.dtype if dtype is None else dtype, device=like.device)
    return t.fill_(float("nan")) if FILL_NAN and t.is_floating_point() else t
