"""ModelNet40 (Wu et al., CVPR 2015) through PyTorch Geometric's `ModelNet` dataset, as point clouds.

PyG reads the release's meshes from <root>/raw/<class>/{train,test}/<class>_*.off (the classes in sorted
order are the labels) and keeps them as processed/training.pt and processed/test.pt. Each mesh is sampled
here once to `n_points` points by PyG's `SamplePoints` (uniform over the surface, by face area) under a
generator seeded by `seed`, normalised to the unit sphere as Point-MAE's pc_normalize does, and the result
kept under the cache by its settings, so every run and model sees the same clouds. The official split is
9,843 / 2,468 meshes; the validation split is a fixed `val_fraction` of the training meshes (drawn from
`seed`), since the papers have none (Point-MAE and PointMamba select on the test split).

PyG downloads the 2 GB zip when raw/ lacks the classes; where that fails (offline), one line says what to
download and where to unpack it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..cache import write_whole
from ..download import guarded
from .shapes import Clouds, normalise

URL = "http://modelnet.cs.princeton.edu/ModelNet40.zip"  # PyG's ModelNet.urls["40"]


class ModelNetMissing(FileNotFoundError):
    """The release is neither in its folder nor downloadable from here; the message is one line."""


def missing_line(root: str | Path) -> str:
    return (f"ModelNet40: not in {root}; run once online (PyG downloads {URL}) or unzip it so that "
            f"{Path(root) / 'raw'}/<class>/train|test/*.off exist")


def present(root: str | Path) -> bool:
    """Whether PyG can read the set from `root` without downloading."""
    root = Path(root)
    return all((root / "processed" / f).is_file() for f in ("training.pt", "test.pt")) or (
        (root / "raw").is_dir() and any(p.is_dir() for p in (root / "raw").iterdir()))


def _pyg(root: Path, train: bool):
    from torch_geometric.datasets import ModelNet

    class Guarded(ModelNet):
        @property
        def has_download(self) -> bool:
            # PyG downloads whenever raw/ lacks the files, even where processed/ holds both splits
            return not all(Path(p).exists() for p in self.processed_paths)

        @property
        def raw_file_names(self):
            # PyG's list names ModelNet10's classes even for ModelNet40; any class folder will do
            raw = Path(self.raw_dir)
            return sorted(p.name for p in raw.iterdir() if p.is_dir()) if raw.is_dir() and any(raw.iterdir()) \
                else ["airplane"]

        def download(self):
            with guarded(lambda why: ModelNetMissing(f"{missing_line(root)} (download failed: {why})")):
                super().download()

    return Guarded(str(root), name="40", train=train)


def _sample(meshes, n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from torch_geometric.transforms import SamplePoints
    sample = SamplePoints(n_points)
    clouds, labels = [], []
    with torch.random.fork_rng(devices=[]):  # SamplePoints draws from torch's global generator
        torch.manual_seed(seed)
        for mesh in meshes:
            clouds.append(sample(mesh.clone()).pos.numpy())
            labels.append(int(mesh.y))
    return normalise(np.stack(clouds).astype(np.float64)).astype(np.float32), np.array(labels, np.int64)


def classes(root: str | Path) -> list[str]:
    raw = Path(root) / "raw"
    return sorted(p.name for p in raw.iterdir() if p.is_dir()) if raw.is_dir() else []


def stored_path(cache, root: str | Path, **settings) -> Path | None:
    """Where the sampled clouds of these settings are kept under the cache (None: no cache)."""
    if cache is None:
        return None
    key = json.dumps(dict(settings, root=str(Path(root).resolve())), sort_keys=True)
    return Path(cache) / "modelnet40" / f"clouds_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def modelnet40(n_points: int = 1024, val_fraction: float = 0.1, seed: int = 0, root: str | Path | None = None,
               cache: str | Path | None = None) -> Clouds:
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"data.settings.n_points={n_points!r}: give a positive integer")
    if not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"data.settings.val_fraction={val_fraction!r}: give a fraction strictly between 0 and 1")
    root = Path(root)
    stored = stored_path(cache, root, n_points=n_points, val_fraction=val_fraction, seed=seed)
    source = f"ModelNet40 ({URL}, via PyG's ModelNet), {n_points} points sampled by SamplePoints (seed {seed})"
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            splits = {s: (saved[f"{s}_x"], saved[f"{s}_y"]) for s in ("train", "val", "test")}
            return Clouds("modelnet40", splits, tuple(str(c) for c in saved["classes"]), source)
    root.mkdir(parents=True, exist_ok=True)
    train = _sample(_pyg(root, True), n_points, seed)
    test = _sample(_pyg(root, False), n_points, seed + 1)
    order = np.random.default_rng([seed, 1]).permutation(len(train[1]))
    n_val = max(1, round(val_fraction * len(order)))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    splits = dict(train=(train[0][train_idx], train[1][train_idx]), val=(train[0][val_idx], train[1][val_idx]),
                  test=test)
    names = tuple(classes(root)) or tuple(str(i) for i in range(int(max(train[1].max(), test[1].max())) + 1))
    if stored is not None:
        write_whole(stored, lambda partial: np.savez(
            partial, classes=np.array(names), **{f"{s}_{k}": v for s, (x, y) in splits.items()
                                                for k, v in (("x", x), ("y", y))}))
    return Clouds("modelnet40", splits, names, source)
