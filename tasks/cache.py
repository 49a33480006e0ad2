"""Files that runs in parallel share (generated or parsed data sets): written whole, then renamed."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def write_whole(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(partial)` fills a file beside `path`, which is then renamed to `path`: a run in parallel sees
    no file or the whole file, never half of one. The partial name keeps `path`'s suffix (np.savez adds
    .npz to a name without it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    write(partial)
    os.replace(partial, path)
    return path
