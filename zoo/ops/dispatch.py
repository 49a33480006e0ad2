"""Which backend computes a scan: what was asked, what can really run here, what ran.

`auto` picks Triton on a CUDA device only for a call whose kernel combination (constexpr flags,
dtypes, tile sizes: see zoo.ops.probe) has already run forward and backward on that device and
matched the oracle; the first call of each combination runs that check, once per process. Any
other call runs on `chunked`, and a fallback on a CUDA device is logged and counted with its reason
(`fallbacks()`, written into every run record). A successful `import triton` proves nothing, and
neither does one combination for another. On the CPU `auto` means `chunked`: the Triton
interpreter is a test tool, far too slow to be a fallback. `MAMBAZOO_SCAN_BACKEND` overrides
`auto`; a backend asked for by name is used without the correctness check (the tests, the
benchmark), but must be able to run here.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os

import torch

from . import probe

ENV_VAR = "MAMBAZOO_SCAN_BACKEND"
BACKENDS = ("naive", "chunked", "triton")

log = logging.getLogger("zoo.ops")
_available: dict[tuple, tuple[bool, str]] = {}
_checked: dict[tuple, tuple[bool, str]] = {}
_last: dict[str, str] = {}
_counts: dict[str, dict[str, int]] = {}
_fallbacks: dict[str, dict[str, int]] = {}
_announced: set[tuple] = set()


def backend_module(op: str, backend: str):
    """The module implementing `backend` for `op` (imported on first use)."""
    return importlib.import_module(f"zoo.ops.{op}.{backend}")


def triton_available(op: str, device: torch.device) -> tuple[bool, str]:
    """(can run, why not): the package is installed, the device can run kernels, the module imports.
    Cached per (op, device, interpreter setting): `auto` asks on every call."""
    device = torch.device(device)
    key = (op, str(device), os.environ.get("TRITON_INTERPRET"))
    if key not in _available:
        _available[key] = _find_triton(op, device)
    return _available[key]


def _find_triton(op: str, device: torch.device) -> tuple[bool, str]:
    if importlib.util.find_spec("triton") is None:
        return False, "the triton package is not installed (pip install 'mambazoo[triton]')"
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if device.type != "cuda" and not (interpreted and device.type == "cpu"):
        return False, f"Triton kernels need a CUDA device (or TRITON_INTERPRET=1 on the CPU), got {device}"
    try:
        backend_module(op, "triton")
    except Exception as exc:  # a broken install shows up here, not at `import zoo`
        return False, f"the Triton {op} module failed to import: {type(exc).__name__}: {exc}"
    return True, "available"


def triton_checked(op: str, device: torch.device, call: dict) -> tuple[bool, str]:
    """(works, reason): the kernels this call needs ran forward and backward on `device` and matched
    the oracle on a small problem. Cached per (op, device, kernel combination)."""
    works, why = triton_available(op, device)
    if not works:
        return works, why
    module = backend_module(op, "triton")
    key = (op, str(torch.device(device)), module.kernel_key(**call))
    if key not in _checked:
        _checked[key] = _check(op, module, device, call)
    return _checked[key]


def _check(op, module, device, call) -> tuple[bool, str]:
    try:
        problem = probe.compare(module.scan, backend_module(op, "naive").scan, module.probe_inputs(**call), device)
    except Exception as exc:  # a kernel that fails to compile or launch is exactly what the check is for
        return False, f"Triton {op} kernel failed on {device}: {type(exc).__name__}: {exc}".splitlines()[0]
    if problem:
        return False, f"Triton {op} kernel disagreed with the oracle on {device}: {problem}"
    return True, "checked forward and backward against the oracle"


def auto_considers_triton(device: torch.device) -> bool:
    return torch.device(device).type == "cuda"


def resolve(op: str, backend: str, device: torch.device, call: dict) -> str:
    """The backend that computes `call` (the backend's keyword arguments) of `op`."""
    if backend == "auto":
        backend = os.environ.get(ENV_VAR, "auto").strip() or "auto"
        source = f"{ENV_VAR}={backend}"
    else:
        source = f"backend={backend!r}"
    if backend == "auto":
        if not auto_considers_triton(device):
            return "naive" if _too_short_to_chunk(op, call) else "chunked"
        works, why = triton_checked(op, device, call)
        if works:
            return "triton"
        _note_fallback(op, why)
        return "chunked"
    if backend not in BACKENDS:
        raise ValueError(f"unknown scan backend from {source}; choose one of auto, {', '.join(BACKENDS)}")
    if backend == "triton":
        works, why = triton_available(op, device)
        if not works:
            raise RuntimeError(f"{source} asked for Triton, but it cannot run: {why}. "
                               f"Use backend='auto' or 'chunked'.")
    return backend


def _too_short_to_chunk(op: str, call: dict) -> bool:
    """A selective scan shorter than the chunked backend's sub-block is padded to a whole one there (16 steps
    for 1 token); the sequential backend takes exactly as many steps as there are tokens, and is faster."""
    if op != "selective_scan":
        return False
    from .selective_scan.chunked import SUB
    return call["u"].shape[-1] < SUB


def _note_fallback(op: str, why: str):
    reasons = _fallbacks.setdefault(op, {})
    if why not in reasons:
        log.warning("%s falls back to the chunked backend: %s", op, why)
    reasons[why] = reasons.get(why, 0) + 1


def note_used(op: str, backend: str, device: torch.device):
    _last[op] = backend
    counts = _counts.setdefault(op, {})
    counts[backend] = counts.get(backend, 0) + 1
    key = (op, backend, str(device))
    if key not in _announced:
        _announced.add(key)
        log.info("%s runs on the %s backend (%s)", op, backend, device)


def last_backend(op: str) -> str | None:
    """Name of the backend that computed the most recent call of `op`, or None."""
    return _last.get(op)


def backends_used() -> dict[str, dict[str, int]]:
    """Calls per backend for each op since the last reset (for result records)."""
    return {op: dict(counts) for op, counts in _counts.items()}


def fallbacks() -> dict[str, dict[str, int]]:
    """Calls per reason for each op that `auto` sent to `chunked` instead of Triton since the last reset."""
    return {op: dict(reasons) for op, reasons in _fallbacks.items()}


def reset_backend_log():
    _last.clear()
    _counts.clear()
    _fallbacks.clear()
