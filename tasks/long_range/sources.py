"""The long-range sets, each a `Sequences`: token ids with PAD (0) after each sequence's end, one label each.

ListOps is generated (tasks/long_range/listops.py). Pathfinder-32 and MNIST are the vision domain's images read
one pixel at a time, row by row (LRA's Pathfinder-32, 1,024 tokens; sequential MNIST, 784): a pixel of value v
is token v + 1, so 0 stays the padding. Permuted MNIST reads the pixels in one fixed order drawn from
`permutation_seed`, the same for every run and every model, as in the papers.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import write_whole
from ..vision.pathfinder import pathfinder
from ..vision.sources import mnist
from . import listops as lo

PIXEL_VOCAB = 257  # padding + 256 grey levels
LISTOPS_VERSION = 2  # bump when the generator changes, so cached sets are drawn again


@dataclass
class Sequences:
    name: str
    splits: dict            # {"train" | "val" | "test": (ids int64 (n, seqlen), labels int64 (n,))}
    n_classes: int
    vocab_size: int
    source: str


def listops(n_train: int = 10000, n_val: int = 1000, n_test: int = 1000, min_length: int | None = None,
            max_length: int = 512, max_depth: int = 10, max_args: int = 10, op_prob: float = 0.25, seed: int = 0,
            cache: str | Path | None = None) -> Sequences:
    """One set of distinct expressions drawn from `seed` and split as LRA splits its set: the test split
    first, then validation, then training, so a larger training set leaves the other two as they were. Kept
    under cache/listops/ by its settings (ten thousand expressions of up to 512 tokens take about half a
    minute to draw)."""
    shape = dict(min_length=lo.shortest(min_length, max_length), max_length=max_length, max_depth=max_depth,
                 max_args=max_args, op_prob=op_prob)
    lo.check(**shape)
    sizes = dict(train=n_train, val=n_val, test=n_test)
    for split, n in sizes.items():
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"data.settings.n_{split}={n!r}: give a positive integer")
    key = json.dumps(dict(shape, **sizes, seed=seed, version=LISTOPS_VERSION), sort_keys=True)
    stored = None if cache is None else Path(cache) / "listops" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            splits = {s: (saved[f"{s}_x"], saved[f"{s}_y"]) for s in sizes}
    else:
        ids, labels = lo.generate(n_test + n_val + n_train, seed, **shape)
        bounds = dict(test=(0, n_test), val=(n_test, n_test + n_val), train=(n_test + n_val, None))
        splits = {s: (ids[a:b], labels[a:b]) for s, (a, b) in bounds.items()}
        if stored is not None:
            write_whole(stored, lambda partial: np.savez_compressed(
                partial, **{f"{s}_{k}": v for s, (x, y) in splits.items() for k, v in (("x", x), ("y", y))}))
    return Sequences("listops", splits, 10, len(lo.VOCAB), f"generated (LRA's ListOps grammar, seed {seed})")


def pixels(images: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """uint8 images (n, 1, H, W) -> token ids (n, H*W), row by row or in `order`."""
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"a pixel sequence is read from greyscale images (n, 1, H, W), got {images.shape}")
    ids = images.reshape(len(images), -1).astype(np.int64) + 1
    return ids if order is None else ids[:, order]


def pathfinder_sequence(cache: str | Path | None = None, **settings) -> Sequences:
    images = pathfinder(**settings, cache=cache)
    splits = {s: (pixels(x), y) for s, (x, y) in images.splits.items()}
    return Sequences(f"{images.name}_seq", splits, 2, PIXEL_VOCAB, f"{images.source}, read pixel by pixel")


def mnist_sequence(permutation_seed: int | None = None, n_val: int | None = None, n_test: int | None = None,
                   cache: str | Path | None = None) -> Sequences:
    """The shipped MNIST sample at its 28x28 (the vision domain pads it to 32x32). `n_val` and `n_test` keep
    the first images of the sample's validation and test splits (500 and 1,000; None keeps them whole): on 784
    tokens an evaluated image costs a third of a trained one, so the evaluation is a budget of its own."""
    images = mnist(None if cache is None else str(cache))
    order = None if permutation_seed is None else np.random.default_rng(permutation_seed).permutation(28 * 28)
    keep = dict(val=_first(images, "val", n_val), test=_first(images, "test", n_test))
    splits = {s: (pixels(x[:keep.get(s), :, 2:30, 2:30], order), y[:keep.get(s)])
              for s, (x, y) in images.splits.items()}
    name = "smnist5k" if order is None else "psmnist5k"
    how = "pixel by pixel" if order is None else f"pixel by pixel in a fixed permutation (seed {permutation_seed})"
    return Sequences(name, splits, 10, PIXEL_VOCAB, f"{images.source}, read {how}")


def _first(images, split: str, n: int | None) -> int | None:
    available = len(images.splits[split][1])
    if n is not None and (not isinstance(n, int) or not 1 <= n <= available):
        raise ValueError(f"data.settings.n_{split}={n!r}: give a whole number from 1 to {available} "
                         f"(the sample's {split} split)")
    return n
