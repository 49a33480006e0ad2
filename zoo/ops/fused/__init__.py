"""The compiled CPU kernels (kernels.c): built with the machine's C compiler on first use, cached, loaded
through ctypes, and run on torch's thread count.

Why a plain C file and ctypes rather than a torch C++ extension: the file includes no torch header, so it
builds in about a second with any C compiler and needs neither ninja nor a matching torch build; a
machine without a compiler only means that `auto` stays on `chunked` (with the reason logged). The
build is cached per source, compiler, flags and instruction set under $MAMBAZOO_CACHE (default
~/.cache/mambazoo) and written atomically, so parallel runs can share it. The instruction set, not the host
name: containers on a cluster share host names across CPUs, and `-march=native` code built on one CPU dies on
another with an illegal instruction that no check can catch.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

HERE = Path(__file__).parent
SOURCES = ("kernels.c", "kernels_body.h")
FLAGS = ("-O3", "-fPIC", "-shared", "-fopenmp-simd", "-fno-trapping-math")  # the last lets loops with selects vectorise
TUNED = ("-march=native",)  # tried first; some compilers (or CPUs) refuse it
SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
ARGS = {"ss_fwd": (9, 10), "ss_bwd": (14, 11), "ssd_fwd": (10, 8), "ssd_bwd": (16, 8)}  # (pointers, integers)


class Unavailable(RuntimeError):
    """The kernels cannot be built or loaded here; the message says why."""


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_error: str | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def library() -> ctypes.CDLL:
    """The loaded kernels, built on the first call of the process. Raises Unavailable with the reason."""
    global _lib, _error
    with _lock:
        if _lib is None and _error is None:
            try:
                _lib = _load(_build())
            except Unavailable as exc:
                _error = str(exc)
        if _error is not None:
            raise Unavailable(_error)
        return _lib


def cache_dir() -> Path:
    root = os.environ.get("MAMBAZOO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mambazoo")
    return Path(root)


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise Unavailable("no C compiler found (install gcc or clang, or set CC)")
    return cc


def _build() -> Path:
    cc = _compiler()
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update((HERE / source).read_bytes())
    digest.update(" ".join((cc, *FLAGS, *TUNED, platform.machine(), instruction_set(cc))).encode())
    target = cache_dir() / f"kernels-{digest.hexdigest()[:16]}.so"
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return _compile(cc, target)
    except OSError as exc:  # an unwritable cache or a CC that is not there
        raise Unavailable(f"the C kernels could not be built into {target.parent} with {cc}: {exc} "
                          f"(set MAMBAZOO_CACHE to a writable folder, or CC to a C compiler)") from None


def instruction_set(cc: str) -> str:
    """What `-march=native` means here: the target flags the compiler's driver expands it to (gcc:
    `-march=cooperlake -mavx512f ...`; clang: `-target-cpu`, `-target-feature`), else the CPU's own flags."""
    try:
        shown = subprocess.run([cc, *TUNED, "-###", "-x", "c", "-c", os.devnull, "-o", os.devnull],
                               capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        shown = ""
    flags = re.findall(r'(?:-m|--param[= ]|"-target-(?:cpu|feature)" ")[^\s"\']+', shown)
    found = sorted(set(flags) - {"-march=native"})
    return " ".join(found) or _cpu_flags()


def _cpu_flags() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    facts = dict(tuple(x.strip() for x in line.split(":", 1)) for line in lines if ":" in line)
    found = " ".join(facts.get(k, "") for k in ("vendor_id", "cpu family", "model", "flags", "Features"))
    return found.strip() or platform.processor() or platform.node()


def _compile(cc: str, target: Path) -> Path:
    errors = []
    for extra in (TUNED, ()):
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        cmd = [cc, *FLAGS, *extra, "-I", str(HERE), str(HERE / "kernels.c"), "-o", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode == 0:
            os.replace(tmp, target)  # atomic: a parallel run sees the old file or the whole new one
            return target
        os.unlink(tmp)
        errors.append((done.stderr.strip().splitlines() or ["(no message)"])[-1])
    raise Unavailable(f"the C kernels failed to build with {cc}: {errors[-1]}")


def _load(path: Path) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise Unavailable(f"the built kernels failed to load: {exc}") from exc
    for name, (pointers, integers) in ARGS.items():
        for sfx in SUFFIX.values():
            fn = getattr(lib, f"{name}_{sfx}")
            fn.argtypes = [ctypes.c_void_p] * pointers + [ctypes.c_int64] * integers
            fn.restype = None
    return lib


def run(name: str, tensors: list, sizes: list[int], items: int):
    """Call kernel `name` on `tensors` (contiguous, one float dtype; None for an absent input) and `sizes`,
    its `items` rows or tasks split into contiguous ranges, one per torch thread. ctypes releases the GIL
    for the call, so the ranges run in parallel."""
    dtype = next(t.dtype for t in tensors if t is not None)
    fn = getattr(library(), f"{name}_{SUFFIX[dtype]}")
    args = [None if t is None else t.data_ptr() for t in tensors] + list(sizes)
    threads = max(1, min(torch.get_num_threads(), items))
    bounds = [items * i // threads for i in range(threads + 1)]
    if threads == 1:
        fn(*args, 0, items)
        return
    list(_threads(threads).map(lambda i: fn(*args, bounds[i], bounds[i + 1]), range(threads)))


def _threads(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(n, thread_name_prefix="mambazoo-scan"), n
        return _pool
