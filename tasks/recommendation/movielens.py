"""MovieLens interactions (user, item, timestamp), read without any recommender library.

MovieLens-100K (943 users, 1,682 films, 100,000 ratings; F. M. Harper & J. A. Konstan, The MovieLens Datasets:
History and Context, ACM TiiS 5(4), 2015) ships inside the RecBole wheel on PyPI as
`recbole/dataset_example/ml-100k/ml-100k.inter` (tab-separated: user_id, item_id, rating, timestamp). We open
that member straight from the wheel (a zip) without installing RecBole or its dependencies: the Makefile's
install step fetches the wheel with `pip download --no-deps` into .venv/wheels/, and `python -m
tasks.recommendation.movielens` does the same by hand. The rows are converted once into
<data_root>/movielens/ml-100k.npz.

ML-1M (or any GroupLens release in its `ratings.dat` format, `UserID::MovieID::Rating::Timestamp`) is read from
a folder given as `data.path`, which the user downloads from https://grouplens.org/datasets/movielens/.

Licence: GroupLens lets the MovieLens data sets be used for research; they may not be redistributed without
GroupLens's permission, and publications using them must cite Harper & Konstan (2015). RecBole redistributes
ML-100K in its wheel; we do neither: nothing of the data is committed to this repository, and the cache stays
under the (git-ignored) data root of the machine that read it.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..cache import write_whole

RECBOLE = "recbole==1.2.1"
WHEEL = "recbole-1.2.1-py3-none-any.whl"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
WHEELS = Path(sys.prefix) / "wheels"  # the Makefile's $(VENV)/wheels when run from the project's environment
FORMAT_VERSION = 1  # bump when the conversion changes, so cached copies are read again


class DataMissing(FileNotFoundError):
    """A data set that is not on this machine; the message is one line naming how to get it."""


def download_command(dest: Path = WHEELS) -> str:
    return f"{sys.executable} -m pip download --no-deps {RECBOLE} -d {dest}"


def wheel_paths(cache: str | Path | None) -> list[Path]:
    """Where the RecBole wheel is looked for, in order: <data_root>/movielens/, then the environment's wheels/."""
    return ([Path(cache) / "movielens" / WHEEL] if cache is not None else []) + [WHEELS / WHEEL]


def find_wheel(cache: str | Path | None) -> Path | None:
    return next((p for p in wheel_paths(cache) if p.is_file()), None)


def download_wheel(dest: Path = WHEELS) -> Path:
    """Fetch the wheel from PyPI (its files only, no dependencies); CalledProcessError when the index cannot be
    reached."""
    subprocess.run(download_command(dest).split(), check=True)
    return dest / WHEEL


def read_inter(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RecBole's atomic .inter file (a header `user_id:token<TAB>item_id:token<TAB>...`) -> users, items,
    timestamps (int64, the file's order)."""
    lines = text.splitlines()
    header = [h.split(":")[0] for h in lines[0].split("\t")] if lines else []
    if not {"user_id", "item_id", "timestamp"} <= set(header):
        raise ValueError(f"{MEMBER}: its header names {header}; expected user_id, item_id and timestamp columns")
    cols = [header.index(c) for c in ("user_id", "item_id", "timestamp")]
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    return tuple(np.array([int(float(r[c])) for r in rows], dtype=np.int64) for c in cols)


def read_ratings_dat(text: str, where: str = "ratings.dat") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GroupLens's `UserID::MovieID::Rating::Timestamp` lines -> users, items, timestamps (the file's order)."""
    users, items, times = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("::")
        if len(fields) != 4:
            raise ValueError(f"{where}:{number}: expected UserID::MovieID::Rating::Timestamp, got {line[:60]!r}")
        users.append(int(fields[0])), items.append(int(fields[1])), times.append(int(fields[3]))
    return tuple(np.array(a, dtype=np.int64) for a in (users, items, times))


def ratings_file(path: str | Path) -> Path:
    return Path(path) / "ratings.dat"


def stored_path(cache: str | Path | None, path: str | Path | None) -> Path | None:
    """The converted copy's file: ml-100k.npz, or for a folder, its name and a digest of where it is."""
    if cache is None:
        return None
    if path is None:
        return Path(cache) / "movielens" / f"ml-100k.v{FORMAT_VERSION}.npz"
    digest = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
    return Path(cache) / "movielens" / f"{Path(path).resolve().name}-{digest}.v{FORMAT_VERSION}.npz"


def missing(path: str | Path | None, cache: str | Path | None) -> str | None:
    """None where the interactions can be read here, else the one line that says how to get them."""
    stored = stored_path(cache, path)
    if stored is not None and stored.exists():
        return None
    if path is not None:
        file = ratings_file(path)
        return None if file.is_file() else (
            f"data.path={path}: no ratings.dat there; download ml-1m.zip from https://grouplens.org/datasets/"
            f"movielens/ and give the folder it unzips to")
    if find_wheel(cache) is not None:
        return None
    folders = " or ".join(str(p.parent) for p in wheel_paths(cache))
    return f"MovieLens-100K is read from the RecBole wheel, which is not in {folders}: run {download_command()}"


def interactions(path: str | Path | None = None, cache: str | Path | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """users, items, timestamps in the file's order: ML-100K from the wheel (path None) or `path`/ratings.dat;
    converted once into the cache. DataMissing (one line) when neither the cache nor the source is here."""
    stored = stored_path(cache, path)
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            return saved["users"], saved["items"], saved["timestamps"]
    line = missing(path, cache)
    if line is not None:
        raise DataMissing(line)
    if path is None:
        wheel = find_wheel(cache)
        try:
            with zipfile.ZipFile(wheel) as z:
                text = z.read(MEMBER).decode("utf-8")
        except (zipfile.BadZipFile, KeyError) as exc:
            raise DataMissing(f"{wheel}: not a RecBole 1.2.1 wheel holding {MEMBER} ({exc}); delete it and run "
                              f"{download_command()}") from None
        users, items, times = read_inter(text)
    else:
        file = ratings_file(path)
        users, items, times = read_ratings_dat(file.read_text(encoding="latin-1"), str(file))
    if stored is not None:
        write_whole(stored, lambda partial: np.savez(partial, users=users, items=items, timestamps=times))
    return users, items, times


if __name__ == "__main__":
    print(download_wheel())
