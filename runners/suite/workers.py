"""The process a suite's run trains in: its own, every time, but started warm.

A run must not share a process with another (a crash, a leak or a kill takes only itself down, and its
peak memory is its own), yet a cold `python -m runners.train` spends about 8 s of a 2-core machine importing
torch, Lightning and the project before it trains (a short run: 12-14.5 s cold, 4-5 s forked). So each run is a fresh
child forked from one server process that has done those imports once (multiprocessing's `forkserver`):
the same isolation without the import. The server computes nothing, so no thread pool exists to be
copied half-alive into a child. Where `forkserver` does not exist (Windows) a run is the subprocess
`python -m runners.train` as before.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import subprocess
import sys
import tempfile

from runners.run.env import ROOT

PRELOAD = ["runners.run.warm"]

_context = None


def forkserver():
    """The forkserver context with the imports preloaded, or None where the platform has none."""
    global _context
    if _context is None and "forkserver" in multiprocessing.get_all_start_methods():
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def train(argv: list[str], target=None) -> tuple[int, str]:
    """Run `python -m runners.train <argv>` in a process of its own, with this process's environment and
    working folder as they are now; (exit status, last line it wrote to stderr). A run killed by a signal
    has a negative status, as with subprocess. `target(argv) -> status` replaces the training (tests: a run
    that dies); it must be importable by name."""
    fd, log = tempfile.mkstemp(prefix="mambazoo-run-", suffix=".log")
    os.close(fd)
    try:
        context = forkserver()
        if context is None:
            with open(log, "w") as err:
                code = subprocess.run([sys.executable, "-m", "runners.train", *argv], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=err).returncode
        else:
            child = context.Process(target=_child, args=(target or _train, argv, log, dict(os.environ)),
                                    name="mambazoo-run")
            child.start()
            child.join()
            code = child.exitcode
        with open(log, errors="replace") as err:
            lines = [line.strip() for line in err if line.strip()]
        return code, lines[-1] if lines else ""
    finally:
        os.unlink(log)


def _child(target, argv: list[str], log: str, environ: dict):
    """A forked run as the subprocess would be: the caller's environment, the project folder, the command line,
    stdout dropped and stderr kept in `log`."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(ROOT)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.devnull, "w") as null, open(log, "w") as err:
        os.dup2(null.fileno(), 1)
        os.dup2(err.fileno(), 2)
    # what `python -m runners.train <argv>` would show: a launcher that starts more processes by re-running
    # this one (Lightning's DDP) reads sys.argv and __main__.__spec__
    sys.argv = [str(ROOT / "runners" / "train.py"), *argv]
    sys.modules["__main__"] = importlib.import_module("runners.train")
    sys.exit(target(argv))


def _train(argv: list[str]) -> int:
    from runners.run.config import main_guard
    from runners.run.train import main
    return main_guard(lambda: main(argv), "train")
