"""PATTERN and CLUSTER as Benchmarking GNNs (Dwivedi et al., arXiv 2003.00982) released them, read through
PyTorch Geometric's `GNNBenchmarkDataset` (kind `graph_release`: tasks pattern_release, cluster_release).

What the release holds: PATTERN 10,000 / 2,000 / 2,000 graphs (train / val / test), 2 node classes (in the
planted pattern or not); CLUSTER 10,000 / 1,000 / 1,000 graphs, 6 node classes (the community). Both are
fixed splits of the SBM graphs that tasks/graph/sbm.py regenerates at our own scale.

PyG fetches one zip per set (GNNBenchmarkDataset.urls: https://data.pyg.org/datasets/benchmarking-gnns/
PATTERN_v2.zip, .../CLUSTER_v2.zip), unpacks `<NAME>_v2.pt` into `<root>/<NAME>/raw/` (a list of the train,
val and test splits, each a list of dicts of `Data` fields) and converts it into
`<root>/<NAME>/processed/{train,val,test}_data.pt`. Either folder is enough here, or the zip itself in raw/.

Node features: PyG's table gives PATTERN 3 and CLUSTER 7 feature columns, and GraphGPS feeds `x` to a linear
encoder, i.e. each node's colour (PATTERN: 0-2) or seed label (CLUSTER: 0 none, 1-6 its community) one-hot
in floats. We store the index of the hot column, (n, 1) int64: the ids the generated sets hold and the models
embed (kind.COLOURS). A single column of ids (the original DGL pickles' form) is taken as it is. Edge features,
where the file has them, are left out: GraphGPS's configs for these sets use none (DummyEdge).

The converted splits (with the random-walk `pe`) are kept under `<data_root>/graph/` by `cached`, keyed by the
release file's name and pe_steps, not by the folder read: a second copy of the same release shares them.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch

from ..download import guarded
from .data import SPLITS, cached, stored_path, with_pe

SIZES = {"PATTERN": (10000, 2000, 2000), "CLUSTER": (10000, 1000, 1000)}


class ReleaseMissing(FileNotFoundError):
    """The release is neither in its folder nor downloadable from here; the message is one line."""


def _pyg_class():
    try:
        from torch_geometric.datasets import GNNBenchmarkDataset
    except ImportError:
        raise ImportError("the graph tasks need PyTorch Geometric: pip install 'mambazoo[graph]'") from None
    return GNNBenchmarkDataset


def _check_name(name: str):
    if name not in SIZES:
        raise ValueError(f"{name!r} is no Benchmarking GNNs node set here (sets: {', '.join(SIZES)})")


def url(name: str) -> str:
    _check_name(name)
    return _pyg_class().urls[name]


def stem(name: str) -> str:
    """The release file's name without suffix, PyG's rule: the zip's name (PATTERN_v2)."""
    return url(name).rsplit("/", 1)[-1][:-len(".zip")]


def present(root: str | Path, name: str) -> bool:
    """Whether `root` holds the release in a form PyG reads without downloading."""
    folder = Path(root) / name
    raw = folder / "raw"
    return (raw / f"{stem(name)}.pt").is_file() or (raw / f"{stem(name)}.zip").is_file() or all(
        (folder / "processed" / f"{s}_data.pt").is_file() for s in SPLITS)


def missing_line(root: str | Path, name: str) -> str:
    return (f"{name} (Benchmarking GNNs release): not in {root}; run once online (PyG downloads {url(name)}) "
            f"or put its {stem(name)}.pt (or the zip) in {Path(root) / name / 'raw'}/")


def settings(name: str, pe_steps: int) -> dict:
    """What the converted copy is keyed by (see the module's docstring)."""
    return dict(release=stem(name), pe_steps=pe_steps)


def cache_name(name: str) -> str:
    return f"{name.lower()}_release"


def converted(cache: str | Path | None, name: str, pe_steps: int) -> bool:
    stored = stored_path(cache, cache_name(name), settings(name, pe_steps))
    return stored is not None and stored.exists()


def release(name: str, root: str | Path, pe_steps: int = 16, cache: str | Path | None = None
            ) -> dict[str, list[dict]]:
    """{"train" | "val" | "test": [graph dicts]} as the generated sets' (x (n, 1) colour ids, edge_index,
    node_y, pe), converted once and kept under cache/graph/. ReleaseMissing (one line) when the files are
    not in `root` and cannot be downloaded."""
    _check_name(name)
    return cached(cache, cache_name(name), settings(name, pe_steps), lambda: _convert(name, Path(root), pe_steps))


def _convert(name: str, root: Path, pe_steps: int) -> dict[str, list[dict]]:
    from .kind import CLASSES, COLOURS
    colours, classes = COLOURS[name.lower()][0], CLASSES[name.lower()]
    out = {}
    for split, data in _read(name, root).items():
        out[split] = [with_pe(dict(x=colour_ids(g.x, colours, name), edge_index=g.edge_index.long(),
                                   node_y=labels(g.y, classes, name)), pe_steps) for g in data]
    return out


def colour_ids(x: torch.Tensor, colours: int, name: str) -> torch.Tensor:
    """(n, 1) int64 ids from one-hot rows of `colours` columns, or from one column of ids."""
    if x.dim() == 1 or x.shape[-1] == 1:
        ids = x.reshape(-1)
        if ids.is_floating_point() and not torch.equal(ids, ids.round()):
            raise ValueError(f"{name} release: a node feature column of non-integers; expected colour ids")
        ids = ids.long()
    elif x.dim() == 2 and x.shape[1] == colours and ((x == 0) | (x == 1)).all() and (x.sum(1) == 1).all():
        ids = x.argmax(1)
    else:
        raise ValueError(f"{name} release: node features of shape {tuple(x.shape)}, neither one-hot rows of "
                         f"{colours} columns nor one column of ids")
    if ids.numel() and (ids.min() < 0 or ids.max() >= colours):
        raise ValueError(f"{name} release: node feature ids {int(ids.min())}..{int(ids.max())}, "
                         f"outside 0..{colours - 1}")
    return ids[:, None]


def labels(y: torch.Tensor, classes: int, name: str) -> torch.Tensor:
    y = y.reshape(-1)
    if y.is_floating_point() or (y.numel() and (y.min() < 0 or y.max() >= classes)):
        span = f" {y.min().item()}..{y.max().item()}" if y.numel() else ""
        raise ValueError(f"{name} release: node labels must be ids 0..{classes - 1}, got {y.dtype}{span}")
    return y.long()


def _read(name: str, root: Path) -> dict:
    """{split: PyG dataset}, downloading only where root lacks the files; one PyG conversion at a time."""
    base = _pyg_class()
    line = missing_line(root, name)

    class Guarded(base):
        @property
        def has_download(self) -> bool:
            # PyG downloads whenever raw/ lacks the file, even where processed/ holds all three splits
            return not all(os.path.exists(p) for p in self.processed_paths)

        def download(self):
            zipped = Path(self.raw_dir) / f"{stem(name)}.zip"
            if zipped.is_file():  # put there by hand: unpack it as PyG would its own download
                from torch_geometric.data import extract_zip
                extract_zip(str(zipped), self.raw_dir, log=False)
                return
            with guarded(lambda why: ReleaseMissing(f"{line} (download failed: {why})")):
                super().download()

    (root / name).mkdir(parents=True, exist_ok=True)
    with _locked(root / name / ".mambazoo.lock"):
        try:
            return {split: Guarded(str(root), name, split) for split in SPLITS}
        except ReleaseMissing:
            raise
        except Exception as exc:  # a truncated or foreign file: say which, in one line
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ValueError(f"{name} release in {root}: PyG could not read it ({type(exc).__name__}: {first}); "
                             f"remove {root / name} and fetch it again") from None


@contextlib.contextmanager
def _locked(path: Path):
    """Runs in parallel wait for one another here: PyG writes processed/ in place, not whole-then-renamed."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as PyG itself
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
