"""Checking a fast backend against the oracle on a small problem before `auto` trusts it with a call.

Triton compiles one kernel per combination of constexpr flags, pointer dtypes and tile sizes, so a
check of one combination says nothing about another. `auto` therefore checks each combination a
call needs, once per process: the backend's `probe_inputs` builds a small problem that launches the
very same kernels (same flags, dtypes and tiles; batch 1, a few time blocks), and `compare` runs it
forward without and with autograd, then backward, against the oracle on the CPU.

The tolerances are DESIGN.md section 6's (mamba_ssm's own tests); the tests use the same table.
"""
from __future__ import annotations

import torch

TOL = {torch.float32: (6e-4, 2e-3), torch.float16: (3e-3, 5e-3), torch.bfloat16: (3e-2, 5e-2),
       torch.float64: (1e-9, 1e-9)}
GRAD_LOOSER = 5  # gradients pass through more operations than outputs


def dtypes_and_flags(call: dict) -> tuple:
    """The part of a call that selects a compiled kernel: which inputs are present, their dtypes, the flags."""
    def kind(v):
        if torch.is_tensor(v):
            return str(v.dtype).removeprefix("torch.")
        return v if v is None or isinstance(v, bool) else "given"
    return tuple(sorted((name, kind(v)) for name, v in call.items()))


def small_like(call: dict, shapes: dict[str, tuple], seed: int = 0) -> dict:
    """Random CPU inputs of the given shapes with the call's dtypes and flags; absent inputs stay absent.
    Step sizes are positive, A negative, and the mask (if any) drops a few positions."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, v in call.items():
        if not torch.is_tensor(v):
            out[name] = v
        elif name == "mask":
            out[name] = torch.rand(shapes[name], generator=g) > 0.25
        else:
            t = torch.randn(shapes[name], generator=g, dtype=torch.float64)
            if name in ("delta", "dt"):
                t = torch.rand(shapes[name], generator=g, dtype=torch.float64)
            elif name == "A":
                t = -(torch.rand(shapes[name], generator=g, dtype=torch.float64) + 0.1)
            out[name] = t.to(v.dtype)
    return out


def compare(fast, oracle, inputs: dict, device) -> str | None:
    """Run `fast(**inputs)` on `device` and `oracle(**inputs)` on the CPU, each returning (out, state):
    the forward without autograd, then with it and the gradient of a random loss. None when every output
    and gradient agrees within TOL for the activations' dtype, else a line naming what disagreed."""
    dtype = next(v.dtype for v in inputs.values() if torch.is_tensor(v) and v.is_floating_point())
    rtol, atol = TOL[dtype]
    with torch.no_grad():
        got = fast(**_on(inputs, device))
    want = outputs_and_grads(oracle, inputs)
    problems = [_differs(f"forward {k} (no grad)", g, want[k], rtol, atol)
                for k, g in zip(("out", "state"), got)]
    got = outputs_and_grads(fast, _on(inputs, device))
    for name in want:
        k = GRAD_LOOSER if name.startswith("grad") else 1
        problems.append(_differs(name, got.get(name), want[name], rtol * k, atol * k))
    problems = [p for p in problems if p]
    return "; ".join(problems) if problems else None


def _on(inputs, device):
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}


def outputs_and_grads(fn, inputs: dict) -> dict:
    """fn(**inputs) -> (out, state); backprop a fixed random cotangent into both. Returns the outputs and the
    gradient of every floating-point input ("grad <name>")."""
    # `auto` may be asked from inside no_grad or inference_mode (Lightning evaluates under it): enable_grad
    # alone does not lift inference_mode, and a check failed that way would disable a sound kernel
    with torch.inference_mode(False), torch.enable_grad():
        kw = {k: v.detach().clone().requires_grad_(v.is_floating_point()) if torch.is_tensor(v) else v
              for k, v in inputs.items()}
        out, state = fn(**kw)
        g = torch.Generator().manual_seed(1)
        loss = (out.float() * torch.randn(out.shape, generator=g).to(out.device)).sum() \
            + (state.float() * torch.randn(state.shape, generator=g).to(state.device)).sum()
        loss.backward()
    result = {"out": out.detach(), "state": state.detach()}
    result.update({f"grad {k}": v.grad for k, v in kw.items() if torch.is_tensor(v) and v.requires_grad})
    return result


def _differs(name, got, want, rtol, atol) -> str | None:
    if got is None or want is None:
        return None if got is None and want is None else f"{name}: missing"
    got, want = got.detach().cpu().double(), want.detach().cpu().double()
    if got.shape != want.shape:
        return f"{name}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    if not torch.isfinite(got).all():
        return f"{name}: not finite"
    excess = ((got - want).abs() - rtol * want.abs()).max().item() if got.numel() else 0.0
    return f"{name}: off by {excess:.3g} (tolerance {atol:g} + {rtol:g} x |oracle|)" if excess > atol else None
