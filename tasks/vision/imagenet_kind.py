"""The ImageNet kind: ImageNet-1k at the papers' scale, read lazily from disk (tasks/vision/imagenet.py),
trained with DeiT's recipe (tasks/vision/recipe.py), scored by top-1 accuracy on the official validation set.

A kind of its own, not a task of the `image` kind: its settings (image size, loader processes, the recipe's)
mean nothing to the in-memory sets, and every data default of a kind is in the config hash of its runs.
"""
from __future__ import annotations

import torch

from ..kinds import Built, Kind, Planned, register_kind
from . import imagenet
from .lazy import LazyImageData
from .mixing import MixingClassifyTask
from .recipe import MIXING, TRANSFORM, eval_transform, mixer, train_transform

# path: a folder of class folders or of the hub's parquet shards (None: <data_root>/imagenet, else the hub);
# batch_size: per process, 8 GPUs x 128 = DeiT-Ti's and Vim-Ti's 1024; n_val: training images held out
DEFAULTS = dict(path=None, image_size=224, n_val=10_000, batch_size=128, eval_batch_size=None, workers=8,
                **TRANSFORM, **MIXING)


def check(data: dict):
    size = data["image_size"]
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"data.image_size={size!r}: give the side of the square crop in pixels (224 in the papers)")
    for name in ("color_jitter", "random_erasing", "crop_pct", *MIXING):
        if not isinstance(data[name], (int, float)) or data[name] < 0:
            raise ValueError(f"data.{name}={data[name]!r}: give a number, 0 or more")
    if data["crop_pct"] == 0 or data["crop_pct"] > 1:
        raise ValueError(f"data.crop_pct={data['crop_pct']!r}: give the evaluation crop's share of the resized image, "
                         f"in (0, 1] (0.875 in DeiT)")
    mixing = data["mixup"] or data["cutmix"]
    if mixing and data["batch_size"] % 2:
        raise ValueError(f"data.batch_size={data['batch_size']}: mixup and cutmix pair a batch's images, give an "
                         f"even batch size (or data.mixup=0 data.cutmix=0)")


def io_of(data: dict, n_classes: int) -> dict:
    return dict(image_size=[data["image_size"]] * 2, in_channels=3, n_classes=n_classes)


def build(cfg, data: dict, make_model) -> Built:
    check(data)
    images = imagenet.load(data["path"], cfg.data_root)
    size = data["image_size"]
    mix = mixer(data["mixup"], data["cutmix"], data["label_smoothing"], images.n_classes)
    loaded = LazyImageData(images, size, data["n_val"],
                           train_transform(size, data["auto_augment"], data["color_jitter"], data["random_erasing"]),
                           eval_transform(size, data["crop_pct"]), data["batch_size"], data["eval_batch_size"],
                           data["workers"], shuffle_seed=cfg.seed, drop_last=mix is not None)
    io = io_of(data, images.n_classes)
    task = MixingClassifyTask(make_model(**io), cfg, mix, data["label_smoothing"])
    return Built(data=loaded, task=task, name=images.name, io=io, primary="test/acc",
                 directions={"acc": "max", "loss": "min"}, unit="images", count=lambda batch: batch[0].shape[0],
                 input_length=size * size)


def plan(data: dict, cache) -> Planned:
    check(data)
    io = io_of(data, imagenet.n_classes_there(data["path"], cache))
    size = data["image_size"]
    return Planned(io=io, unit="images", per_example=1, missing=imagenet.missing(data["path"], cache),
                   example=lambda n: (torch.empty(n, 3, size, size, device="meta"),))


KIND = register_kind(Kind("imagenet", ("imagenet",), DEFAULTS, build, libraries=("timm",), plan=plan))
