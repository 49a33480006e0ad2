"""Where ImageNet-1k's images are (ILSVRC2012: 1,281,167 training and 50,000 validation images, 1,000
classes), and how one is read: the images stay on disk and are decoded one at a time as batches are drawn.

The images come from `data.path`, or <data_root>/imagenet when it is unset, in either layout:
- class folders, <root>/train/<wnid>/*.JPEG and <root>/val/<wnid>/*.JPEG (the validation images sorted into
  class folders, as the usual valprep script leaves them); classes are the training folders sorted by name;
- parquet shards in the layout of the hub's ILSVRC/imagenet-1k (train-*.parquet, validation-*.parquet, an
  `image` column and a ClassLabel `label`), which `datasets` turns once into memory-mapped arrow files under
  <data_root>/hf (a copy as large as the shards: random access needs it).
With no path set and no such folder, the hub's copy through `datasets` (gated: its terms accepted and
`huggingface-cli login`), cached under <data_root>/hf.

Splits: the papers (Vim, VMamba, DeiT, ...) report top-1 accuracy on the official validation set, so that set
is the test split here; the validation split that selects a model is `n_val` training images held out by a
permutation with seed 0 whatever the run seed, so every run of every model selects on the same images.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..hub import hub_cached, load_hub, parquet_files
from .sources import SPLIT_SEED

HUB = "ILSVRC/imagenet-1k"
N_CLASSES = 1000
# torchvision's ImageFolder suffixes; ILSVRC2012 ships .JPEG
SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def root_of(path: str | None, cache) -> Path:
    return Path(path) if path is not None else Path(cache) / "imagenet"


def layout(root: Path) -> str | None:
    """"folders", "parquet" or None (neither layout at `root`)."""
    if (root / "train").is_dir() and (root / "val").is_dir():
        return "folders"
    if parquet_files(root, "train") and parquet_files(root, "validation"):
        return "parquet"
    return None


def missing(path: str | None, cache) -> str | None:
    """None when `load` finds the images without a download; else one line naming what to fetch and where.
    A look at folders only."""
    root = root_of(path, cache)
    if layout(root) is not None or (path is None and hub_cached(HUB, cache) is not None):
        return None
    folders = (f"the ILSVRC2012 images in class folders under {root}/train/<wnid>/ and {root}/val/<wnid>/ "
               f"(from https://image-net.org), or the hub's train-*.parquet and validation-*.parquet shards in {root}")
    if path is not None:
        return f"ImageNet-1k: data.path={path} holds neither layout: put there {folders}"
    return (f"ImageNet-1k: no images in {root}: put there {folders}, or set data.path; and Hugging Face datasets "
            f"has no copy of {HUB} in {Path(cache) / 'hf'} (gated: accept its terms on the hub, `huggingface-cli "
            f"login`, and run once online)")


def n_classes_there(path: str | None, cache) -> int:
    """The classes `load` would find, read from folder names or a schema (ImageNet-1k's 1,000 where neither
    is here)."""
    root = root_of(path, cache)
    found = layout(root)
    if found == "folders":
        return len(class_folders(root / "train"))
    if found == "parquet":
        import datasets
        import pyarrow.parquet as pq
        features = datasets.Features.from_arrow_schema(pq.read_schema(parquet_files(root, "train")[0]))
        return features["label"].num_classes
    info = hub_cached(HUB, cache) if path is None else None
    if info is not None:
        return len(json.loads(info.read_text())["features"]["label"]["names"])
    return N_CLASSES


@dataclass
class ImageNetSet:
    name: str
    train: Callable       # reader: index -> (RGB PIL image, label); len() of it is the number of images
    test: Callable
    n_classes: int
    source: str


class FolderImages:
    """Image files under `root`, kept as one byte-string array: a list of 1.28M str would be copied page by
    page into every DataLoader worker as their reference counts change."""

    def __init__(self, root: Path, files: list[str], labels: list[int]):
        self.root = str(root)
        self.files = np.array([f.encode() for f in files], dtype=bytes)
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self):
        return len(self.labels)

    def __call__(self, i: int):
        from PIL import Image
        with Image.open(os.path.join(self.root, self.files[i].decode())) as image:
            return image.convert("RGB"), int(self.labels[i])


class HubImages:
    """Rows of a `datasets` split (memory-mapped arrow): the image is decoded when its row is read."""

    def __init__(self, rows, image: str = "image", label: str = "label"):
        self.rows, self.image, self.label = rows, image, label

    def __len__(self):
        return len(self.rows)

    def __call__(self, i: int):
        row = self.rows[int(i)]
        return row[self.image].convert("RGB"), int(row[self.label])


def class_folders(split_dir: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(split_dir) if entry.is_dir())


def index_folder(split_dir: Path, classes: list[str]) -> FolderImages:
    """Every image under split_dir/<class>/, in sorted order, labelled by its class's place in `classes`."""
    files, labels = [], []
    for wnid in class_folders(split_dir):
        if wnid not in classes:
            raise ValueError(f"ImageNet-1k: {split_dir}/{wnid} is no class of the training folders")
        names = sorted(e.name for e in os.scandir(split_dir / wnid) if e.name.lower().endswith(SUFFIXES))
        files += [f"{wnid}/{name}" for name in names]
        labels += [classes.index(wnid)] * len(names)
    if not files:
        raise ValueError(f"ImageNet-1k: no images in {split_dir}/<class>/ (expected *.JPEG files in class folders)")
    return FolderImages(split_dir, files, labels)


def load(path: str | None, cache) -> ImageNetSet:
    """The training and official validation images, indexed, not decoded. OSError with `missing`'s line when
    they are not here."""
    root = root_of(path, cache)
    found = layout(root)
    if found == "folders":
        classes = class_folders(root / "train")
        return ImageNetSet("imagenet", index_folder(root / "train", classes), index_folder(root / "val", classes),
                           len(classes), f"class folders {root}")
    if found is None and path is not None:
        raise FileNotFoundError(missing(path, cache))
    try:
        loaded = load_hub(HUB, None, str(root) if found == "parquet" else None, ["train", "validation"], cache,
                          "ImageNet-1k", f"put the ILSVRC2012 images in class folders under {root}/train and "
                          f"{root}/val", "'mambazoo[vision]'", loaded_as=HUB)
    except ConnectionError as exc:  # with a copy cached, `datasets` failed otherwise: its own line says how
        raise ConnectionError(missing(path, cache) or str(exc)) from None
    import datasets  # present: load_hub has loaded with it
    features = loaded["train"].features
    image, label = features.get("image"), features.get("label")
    if not (isinstance(image, datasets.Image) and isinstance(label, datasets.ClassLabel)):
        raise ValueError(f"ImageNet-1k: expected an `image` column and a ClassLabel `label` column, "
                         f"got {dict(features)}")
    return ImageNetSet("imagenet", HubImages(loaded["train"]), HubImages(loaded["validation"]),
                       label.num_classes, f"Hugging Face datasets {root if found else HUB}")


def held_out(n: int, n_val: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices of the n training images: n_val of them drawn with seed 0, whatever the run."""
    if not isinstance(n_val, int) or not 0 < n_val < n:
        raise ValueError(f"data.n_val={n_val!r}: give a positive integer below the {n} training images")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
