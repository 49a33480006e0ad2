"""Time and peak memory of one step, on the CPU or a CUDA device.

Peak memory is what a step holds above what was resident before it (the model, its inputs and, for training,
the optimizer's state), on a step after a warm-up one: on CUDA torch's allocator peak, on a Linux CPU the
process's resident high-water mark (runners/run/env.py), reset before the step after glibc has handed freed
memory back (malloc_trim), good to about 10 MB. Where neither can be read it is None.
"""
from __future__ import annotations

import contextlib
import ctypes
import statistics
import time

import torch

from runners.run import env


class OverTime(Exception):
    """A step took longer than the benchmark's limit."""


def sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(steps: dict, device: torch.device, max_seconds: float, min_total: float = 1.0,
          max_rounds: int = 15) -> dict:
    """{name: (median seconds, repeats) or the error that stopped it} of each step in `steps` ({name: callable}):
    one warm-up call each, then rounds that call every step once in turn, so a slow minute of a shared machine
    falls on all of them alike. A step whose warm-up took over `max_seconds` gets OverTime and is not repeated; a
    step that runs out of memory gets that error."""
    out, left = {}, {}
    for name, step in steps.items():
        try:
            out[name] = (_once(step, device), 0)
        except Exception as e:  # noqa: BLE001 -- reported per step; the caller decides which errors are results
            out[name] = e
            continue
        if out[name][0] > max_seconds:
            out[name] = OverTime(f"one step took {out[name][0]:.1f} s (limit {max_seconds:g} s)")
        else:
            left[name] = []
    rounds = 0
    while left and (rounds < 2 or (sum(map(sum, left.values())) < min_total and rounds < max_rounds)):
        rounds += 1
        for name, times in left.items():
            times.append(_once(steps[name], device))
    out.update({name: (statistics.median(times), len(times)) for name, times in left.items()})
    return out


def _once(step, device) -> float:
    start = time.perf_counter()
    step()
    sync(device)
    return time.perf_counter() - start


def peak_mb(step, device: torch.device) -> float | None:
    """The memory (MB) one call of `step()` holds above what was resident before it."""
    sync(device)
    if device.type == "cpu":
        _trim()
    baseline = env.reset_peak_memory(device)
    step()
    sync(device)
    peak = env.peak_memory_mb(device, baseline)
    return None if peak is None else max(0.0, round(peak, 1))


@contextlib.contextmanager
def memory_limit(gib: float):
    """Within it, allocations beyond `gib` GiB more than this process held on entry fail with an error
    (RLIMIT_AS) instead of waking the kernel's OOM killer; a no-op where that limit cannot be set."""
    try:
        import resource
        before = resource.getrlimit(resource.RLIMIT_AS)
        size = int(((env.status_mb("VmSize") or 0) / 1024 + gib) * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, before[1]))
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


def available_gib() -> float:
    """Memory available to a new allocation (Linux's MemAvailable; elsewhere 8 GiB, a guess)."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:")) / 2**20
    except (OSError, StopIteration):
        return 8.0


def is_out_of_memory(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, (MemoryError, torch.OutOfMemoryError)) or (
        isinstance(error, RuntimeError) and "alloc" in text and "memory" in text)


def _trim():
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
