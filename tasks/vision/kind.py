"""The image-classification kind: images in, one of n classes out, scored by accuracy."""
from __future__ import annotations

import torch

from ..classify import ClassifyTask
from ..hub import hub_cached, parquet_files
from ..kinds import Built, Kind, Planned, register_kind, with_defaults
from .data import ImageClassification
from .pathfinder import pathfinder
from .sources import digits, hugging_face, mnist, parquet_peek

# data.path: a folder of parquet files for the Hugging Face sets; settings: the generator's, for pathfinder
DEFAULTS = dict(path=None, batch_size=32, eval_batch_size=None, settings={})
# the Hugging Face sets: hub name, the ClassLabel column to predict (None: the only one), images (C, H, W), classes
HUB = {"cifar10": ("cifar10", None, (3, 32, 32), 10),
       "cifar100": ("uoft-cs/cifar100", "fine_label", (3, 32, 32), 100)}  # fine_label: the 100 classes
SOURCES = {
    "digits": lambda data, cache: digits(),
    "mnist": lambda data, cache: mnist(str(cache)),
    "pathfinder": lambda data, cache: pathfinder(**data["settings"], cache=cache),
    **{task: (lambda data, cache, hub=hub, label=label: hugging_face(hub, data["path"], cache, n_val=5000, label=label))
       for task, (hub, label, _, _) in HUB.items()},
}
# what the plan knows of the shipped sets without loading them: images (C, H, W), classes
SHIPPED = {"digits": ((1, 8, 8), 10), "mnist": ((1, 32, 32), 10)}


def check(data: dict):
    if data["settings"] and data["task"] != "pathfinder":
        raise ValueError(f"data.settings is for the pathfinder generator; {data['task']} takes none")
    if data["path"] is not None and data["task"] not in HUB:
        raise ValueError(f"data.path is for Hugging Face sets ({', '.join(HUB)}); "
                         f"{data['task']} ships with its package")


def io_of(shape: tuple[int, int, int], n_classes: int) -> dict:
    channels, height, width = shape
    return dict(image_size=[height, width], in_channels=channels, n_classes=n_classes)


def build(cfg, data: dict, make_model) -> Built:
    check(data)
    images = ImageClassification(SOURCES[data["task"]](data, cfg.data_root), data["batch_size"],
                                 data["eval_batch_size"], shuffle_seed=cfg.seed)
    io = io_of(images.shape, images.set.n_classes)
    height, width = io["image_size"]
    return Built(data=images, task=ClassifyTask(make_model(**io), cfg), name=images.set.name, io=io,
                 primary="test/acc", directions={"acc": "max", "loss": "min"}, unit="images",
                 count=lambda batch: batch[0].shape[0], input_length=height * width)


def plan(data: dict, cache) -> Planned:
    check(data)
    task, missing = data["task"], None
    if task in SHIPPED:
        shape, n_classes = SHIPPED[task]
    elif task == "pathfinder":
        size = with_defaults(data["settings"], pathfinder)["size"]
        shape, n_classes = (1, size, size), 2
    else:
        hub, label, shape, n_classes = HUB[task]
        missing = hub_missing(task, hub, data["path"], cache)
        if data["path"] is not None and missing is None:  # a local copy may hold other sizes than the hub's
            shape, n_classes = parquet_peek(data["path"], label)
    io = io_of(shape, n_classes)
    return Planned(io=io, unit="images", per_example=1, missing=missing,
                   example=lambda n: (torch.empty(n, *shape, device="meta"),))


def hub_missing(task: str, hub: str, path: str | None, cache) -> str | None:
    """None when `build` finds the set without a download, else the line naming what to fetch."""
    if path is not None:
        lacking = [split for split in ("train", "test") if not parquet_files(path, split)]
        return (f"{task}: data.path={path} has no {lacking[0]}*.parquet file (Hugging Face's {hub} in parquet, "
                f"train*.parquet and test*.parquet)") if lacking else None
    if hub_cached(hub, cache) is not None:
        return None
    return (f"{task}: Hugging Face's {hub} is not cached in {cache}/hf: run once online to download it there, "
            f"or set data.path=<folder of its train*.parquet and test*.parquet>")


def task_name(data: dict) -> str:
    return {"mnist": "mnist5k"}.get(data["task"], data["task"])


KIND = register_kind(Kind("image", tuple(SOURCES), DEFAULTS, build, task_name, libraries=("timm",),  # ViT/DeiT
                          plan=plan))
