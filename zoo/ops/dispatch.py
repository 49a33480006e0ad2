"""Which backend computes a scan: what was asked, what can really run here, what ran.

`auto` takes a device's fast backend only for a call whose kernel combination (see zoo.ops.probe) has
already run forward and backward on that device and matched the oracle; the first call of each
combination runs that check, once per process. The fast backend is Triton on a CUDA device and the
compiled C kernels (`fused`, zoo/ops/fused) on the CPU, except that an SSD call no longer than its chunk
runs on `chunked`, where it is one matrix product and faster. A call the fast backend cannot take runs on
`chunked` (on the CPU, a sequence shorter than chunked's sub-block runs on `naive`), and that fallback
is logged and counted with its reason (`fallbacks()`, written into every run record). A successful
import or build proves nothing, and neither does one combination for another. The Triton interpreter
is a test tool, far too slow for `auto` on the CPU. `MAMBAZOO_SCAN_BACKEND` overrides `auto`; a
backend asked for by name is used without the correctness check (the tests, the benchmark), but must
be able to run here.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os

import torch

from . import probe

ENV_VAR = "MAMBAZOO_SCAN_BACKEND"
BACKENDS = ("naive", "chunked", "fused", "triton")

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


def available(op: str, backend: str, device: torch.device) -> tuple[bool, str]:
    """(can run, why not) for `backend` on `device`. Cached per (op, backend, device, interpreter setting)."""
    device = torch.device(device)
    key = (op, backend, str(device), os.environ.get("TRITON_INTERPRET"))
    if key not in _available:
        find = {"triton": _find_triton, "fused": _find_fused}.get(backend)
        _available[key] = find(op, device) if find else (True, "available")
    return _available[key]


def triton_available(op: str, device: torch.device) -> tuple[bool, str]:
    return available(op, "triton", device)


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


def _find_fused(op: str, device: torch.device) -> tuple[bool, str]:
    if device.type != "cpu":
        return False, f"the fused backend is compiled C code for the CPU, got {device}"
    from . import fused
    try:
        fused.library()
    except fused.Unavailable as exc:
        return False, str(exc)
    return True, "available"


def checked(op: str, backend: str, device: torch.device, call: dict) -> tuple[bool, str]:
    """(works, reason): the kernels this call needs ran forward and backward on `device` and matched
    the oracle on a small problem. Cached per (op, backend, device, kernel combination)."""
    works, why = available(op, backend, device)
    if not works:
        return works, why
    module = backend_module(op, backend)
    key = (op, backend, str(torch.device(device)), module.kernel_key(**call))
    if key not in _checked:
        _checked[key] = _check(op, module, device, call)
    return _checked[key]


def triton_checked(op: str, device: torch.device, call: dict) -> tuple[bool, str]:
    return checked(op, "triton", device, call)


def _check(op, module, device, call) -> tuple[bool, str]:
    name = module.__name__.rsplit(".", 1)[-1]
    try:
        problem = probe.compare(module.scan, backend_module(op, "naive").scan, module.probe_inputs(**call), device)
    except Exception as exc:  # a kernel that fails to compile or launch is exactly what the check is for
        return False, f"{name} {op} kernel failed on {device}: {type(exc).__name__}: {exc}".splitlines()[0]
    if problem:
        return False, f"{name} {op} kernel disagreed with the oracle on {device}: {problem}"
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
        fast = "triton" if auto_considers_triton(device) else "fused" if torch.device(device).type == "cpu" else None
        if fast is None or fast == "fused" and _one_chunk(op, call):
            return "chunked"
        works, why = checked(op, fast, device, call)
        if works:
            return fast
        _note_fallback(op, why)
        return "naive" if fast == "fused" and _too_short_to_chunk(op, call) else "chunked"
    if backend not in BACKENDS:
        raise ValueError(f"unknown scan backend from {source}; choose one of auto, {', '.join(BACKENDS)}")
    works, why = available(op, backend, device)
    if not works:
        can = ", ".join(b for b in BACKENDS if available(op, b, device)[0])
        raise RuntimeError(f"{source} asked for {backend}, but it cannot run: {why}. "
                           f"Backends that can run {op} on {torch.device(device)}: auto, {can}.")
    return backend


def _one_chunk(op: str, call: dict) -> bool:
    """An SSD call no longer than its chunk is one masked (seqlen x seqlen) matrix product per head on
    `chunked`, which the CPU runs faster than the fused kernel's walk over tokens (forward+backward of
    Mamba-2 language-model shapes, 2 threads: 8.2 vs 11.3 ms at 32 tokens, 17.9 vs 20.7 ms at 64; fused
    wins from two chunks on, 37.7 vs 43.4 ms at 256)."""
    return op == "ssd" and call["x"].shape[1] <= call["chunk_size"]


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
        log.warning("%s falls back from its fast backend: %s", op, why)
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
    """Calls per reason for each op that `auto` could not send to its device's fast backend since the last reset."""
    return {op: dict(reasons) for op, reasons in _fallbacks.items()}


def reset_backend_log():
    _last.clear()
    _counts.clear()
    _fallbacks.clear()
