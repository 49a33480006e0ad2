"""Facts about where a measurement was taken: device, package versions, git commit, peak memory."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("torch", "triton", "lightning", "hydra-core", "mambapy", "mamba-ssm", "wandb")


def device_slug(device: torch.device) -> str:
    """A short file-name word for the device: cpu, or the GPU's model (h200, h100, a100, ...)."""
    device = torch.device(device)
    return "cpu" if device.type == "cpu" else torch.cuda.get_device_name(device).split()[-1].lower()


def device_name(device: torch.device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    # Float results on the CPU depend on the instruction set the kernels use (torch's dispatch, oneDNN, and our
    # fused kernels built with -march=native), and a marketing name like "AMD EPYC" spans generations of it
    facts = {}
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            key, _, value = (x.strip() for x in line.partition(":"))
            facts.setdefault(key, value)  # the first processor's
    cpu = facts.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in facts and "model" in facts:
        cpu += f", family {facts['cpu family']} model {facts['model']}"
    return f"cpu: {cpu}, {torch.backends.cpu.get_cpu_capability()} ({torch.get_num_threads()} threads)"


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: its affinity mask (what SLURM or taskset gave it) and its cgroup's CPU
    quota (a container's limit), not the machine's count."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    try:
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            n = min(n, int(quota) // int(period))
    except (OSError, ValueError):
        pass
    return max(1, n)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    if torch.version.cuda:
        found["cuda"] = torch.version.cuda
    if torch.cuda.is_available():
        found["driver"] = _driver()
    return found


def _driver() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=30).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def git_commit() -> str:
    """The commit of the working tree, with "+dirty" when it has uncommitted changes to tracked files."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def reset_peak_memory(device: torch.device) -> float:
    """Start a new high-water mark of this process's memory; returns the baseline it starts from
    (CUDA: the allocator's bytes in use; CPU: resident memory, with the kernel's mark reset on Linux)."""
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux: the mark then covers the whole process
    return status_mb("VmRSS") or 0.0


def peak_memory_mb(device: torch.device, baseline: float = 0.0) -> float | None:
    """Peak memory since `reset_peak_memory` above its baseline: what the run itself added."""
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20 - baseline
    peak = status_mb("VmHWM")
    return None if peak is None else peak - baseline


def status_mb(key: str) -> float | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    line = next((x for x in status.read_text().splitlines() if x.startswith(key + ":")), None)
    return int(line.split()[1]) / 1024 if line else None


def keep_freed_memory():
    """Ask glibc to keep freed blocks instead of returning them to the OS. The scan's per-chunk
    temporaries are a few MB each; with glibc's defaults every one of them is a fresh mmap whose pages
    fault in again, which made a CPU training step of the Mamba models about 1.4x slower."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)
    libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)
