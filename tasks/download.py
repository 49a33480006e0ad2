"""Downloads that a library makes for a loader (PyG's data sets): bounded in time, and failing in the loader's
one line rather than the library's traceback."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Callable

TIMEOUT_S = 60  # urllib waits forever by default; a blocked network should fail, not hang a run


@contextmanager
def guarded(error: Callable[[str], Exception], timeout_s: float = TIMEOUT_S):
    """Run a download with a socket time-out; any failure (URLError, a time-out, a bad zip) is raised as
    `error(<the failure's type name>)`, which says what to download and where by hand."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        yield
    except Exception as exc:
        raise error(type(exc).__name__) from None
    finally:
        socket.setdefaulttimeout(previous)
