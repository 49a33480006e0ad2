"""Which backend computes a scan: what was asked, what can really run here, what ran.

`auto` picks Triton only on a CUDA device where the op's own Triton kernel was
launched once on a tiny input and matched the oracle; a successful `import triton`
proves nothing. On the CPU `auto` means `chunked`: the Triton interpreter is a test
tool, far too slow to be a fallback. `MAMBAZOO_SCAN_BACKEND` overrides `auto`.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os

import torch

ENV_VAR = "MAMBAZOO_SCAN_BACKEND"
BACKENDS = ("naive", "chunked", "triton")

log = logging.getLogger("zoo.ops")
_probe_results: dict[tuple, tuple[bool, str]] = {}
_last: dict[str, str] = {}
_counts: dict[str, dict[str, int]] = {}
_announced: set[tuple] = set()


def backend_module(op: str, backend: str):
    """The module implementing `backend` for `op` (imported on first use)."""
    return importlib.import_module(f"zoo.ops.{op}.{backend}")


def triton_status(op: str, device: torch.device) -> tuple[bool, str]:
    """(works, reason): the op's Triton kernel really ran on `device` and matched `naive`."""
    device = torch.device(device)
    key = (op, device.type, device.index)
    if key not in _probe_results:
        _probe_results[key] = _probe(op, device)
    return _probe_results[key]


def _probe(op: str, device: torch.device) -> tuple[bool, str]:
    if importlib.util.find_spec("triton") is None:
        return False, "the triton package is not installed (pip install 'mambazoo[triton]')"
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if device.type != "cuda" and not (interpreted and device.type == "cpu"):
        return False, f"Triton kernels need a CUDA device (or TRITON_INTERPRET=1 on the CPU), got {device}"
    try:
        module = backend_module(op, "triton")
        ok = module.probe(device)
    except Exception as exc:  # a failed compile or launch is exactly what the probe is for
        return False, f"Triton {op} kernel failed to launch on {device}: {type(exc).__name__}: {exc}"
    return (True, "probe kernel ran and matched naive") if ok else (False, "probe kernel ran but disagreed with naive")


def resolve(op: str, backend: str, device: torch.device) -> str:
    if backend == "auto":
        backend = os.environ.get(ENV_VAR, "auto").strip() or "auto"
        source = f"{ENV_VAR}={backend}"
    else:
        source = f"backend={backend!r}"
    if backend == "auto":
        device = torch.device(device)
        return "triton" if device.type == "cuda" and triton_status(op, device)[0] else "chunked"
    if backend not in BACKENDS:
        raise ValueError(f"unknown scan backend from {source}; choose one of auto, {', '.join(BACKENDS)}")
    if backend == "triton":
        works, why = triton_status(op, device)
        if not works:
            raise RuntimeError(f"{source} asked for Triton, but it cannot run: {why}. "
                               f"Use backend='auto' or 'chunked'.")
    return backend


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


def reset_backend_log():
    _last.clear()
    _counts.clear()
