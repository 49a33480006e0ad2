"""Numerics and launch helpers shared by the Triton kernels of both ops, so they cannot drift apart.

- softplus: torch's (identity above 20), with log1p computed so that a tiny exp(x) is not rounded away
  (log(1 + e) alone gives 0 for e < 6e-8, i.e. a very negative dt bias would give dt = 0).
- the decay exp(min(dt A, 0)) and its gradient rule: where dt A > 0 it was clamped and passes no
  gradient; at dt A == 0 exactly (dt = 0 on padding or a mask, or A = 0) it passes one or not as the
  oracle's torch.clamp does, which torch has changed across versions, so the rule is read from torch.
"""
from __future__ import annotations

import contextlib
import functools

import torch
import triton
import triton.language as tl


@triton.jit
def softplus(x):
    """log1p(e) via log(1 + e) * e / ((1 + e) - 1), accurate for tiny e where log(1 + e) rounds to 0."""
    e = tl.exp(tl.minimum(x, 20.0))
    one_plus = 1.0 + e
    rounded = one_plus - 1.0
    log1p = tl.where(rounded == 0.0, e, tl.log(one_plus) * (e / tl.where(rounded == 0.0, 1.0, rounded)))
    return tl.where(x > 20.0, x, log1p)


@triton.jit
def softplus_grad(x):
    return tl.where(x > 20.0, 1.0, tl.sigmoid(x))


@triton.jit
def log_decay(dtA):
    """log of the per-step decay exp(min(dt A, 0)): never positive, so no product of decays exceeds 1."""
    return tl.minimum(dtA, 0.0)


@triton.jit
def decay_passes_grad(dtA, GRAD_AT_KINK: tl.constexpr):
    """Where d exp(min(dt A, 0)) / d(dt A) is the decay itself rather than 0 (see the module docstring)."""
    if GRAD_AT_KINK:
        return dtA <= 0.0
    else:
        return dtA < 0.0


@functools.cache
def decay_grad_at_kink() -> bool:
    """Whether the oracle's exp(clamp(x, max=0)) passes a gradient at x == 0 exactly."""
    from .selective_scan.common import decay

    with torch.enable_grad():  # asked from inside a backward pass, where grad mode is off
        x = torch.zeros((), requires_grad=True)
        (grad,) = torch.autograd.grad(decay(x), x)
    return bool(grad != 0)


def on_device(t: torch.Tensor):
    """Launch on `t`'s GPU (not the current one); nothing to select under the CPU interpreter."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def or_placeholder(t, placeholder):
    """A never-read stand-in pointer for an absent optional tensor (its flag is off)."""
    return placeholder if t is None else t


def mask_bytes(mask):
    """The bool padding mask as contiguous bytes, the form the kernels read (None stays None)."""
    return None if mask is None else mask.contiguous().view(torch.uint8)


def dot_precision(device) -> str:
    """Float32 accuracy from tl.dot: three TF32 tensor-core products on NVIDIA (Ampere on), else exact FMAs."""
    if device.type == "cuda" and torch.version.hip is None and torch.cuda.get_device_capability(device) >= (8, 0):
        return "tf32x3"
    return "ieee"

