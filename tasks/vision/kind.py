"""The image-classification kind: images in, one of n classes out, scored by accuracy."""
from __future__ import annotations

from ..classify import ClassifyTask
from ..kinds import Built, Kind, register_kind
from .data import ImageClassification
from .pathfinder import pathfinder
from .sources import digits, hugging_face, mnist

# data.path: a folder of parquet files for the Hugging Face sets; settings: the generator's, for pathfinder
DEFAULTS = dict(path=None, batch_size=32, eval_batch_size=None, settings={})
SOURCES = {
    "digits": lambda data, cache: digits(),
    "mnist": lambda data, cache: mnist(str(cache)),
    "pathfinder": lambda data, cache: pathfinder(**data["settings"], cache=cache),
    "cifar10": lambda data, cache: hugging_face("cifar10", data["path"], cache, n_val=5000),
}


def build(cfg, data: dict, make_model) -> Built:
    if data["settings"] and data["task"] != "pathfinder":
        raise ValueError(f"data.settings is for the pathfinder generator; {data['task']} takes none")
    if data["path"] is not None and data["task"] != "cifar10":
        raise ValueError(f"data.path is for Hugging Face sets (cifar10); {data['task']} ships with its package")
    images = ImageClassification(SOURCES[data["task"]](data, cfg.data_root), data["batch_size"],
                                 data["eval_batch_size"], shuffle_seed=cfg.seed)
    channels, height, width = images.shape
    io = dict(image_size=[height, width], in_channels=channels, n_classes=images.set.n_classes)
    return Built(data=images, task=ClassifyTask(make_model(**io), cfg), name=images.set.name, io=io,
                 primary="test/acc", directions={"acc": "max", "loss": "min"}, unit="images",
                 count=lambda batch: batch[0].shape[0], input_length=height * width)


def task_name(data: dict) -> str:
    return {"mnist": "mnist5k"}.get(data["task"], data["task"])


KIND = register_kind(Kind("image", tuple(SOURCES), DEFAULTS, build, task_name, libraries=("timm",)))  # ViT/DeiT
