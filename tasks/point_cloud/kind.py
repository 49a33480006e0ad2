"""The point-cloud kind: clouds (batch, n_points, 3) in, one of n classes out, scored by overall accuracy (the
papers' ModelNet40 and ScanObjectNN number) and mean class accuracy; throughput in clouds."""
from __future__ import annotations

from pathlib import Path

import torch

from ..kinds import Built, Kind, Planned, check_settings, register_kind, with_defaults
from . import modelnet
from .data import AUGMENTS, PointCloudTask, PointClouds
from .shapes import CLASSES, shapes

# path: the folder PyG keeps ModelNet40 in (None: <data_root>/modelnet40); augment: see tasks/point_cloud/data.py
DEFAULTS = dict(settings={}, path=None, batch_size=32, eval_batch_size=None, augment="scale_translate")
SOURCES = {"shapes": shapes, "modelnet40": modelnet.modelnet40}
N_CLASSES = {"shapes": len(CLASSES), "modelnet40": 40}


def _check(data: dict):
    task = data["task"]
    check_settings(task, dict(data["settings"]), SOURCES[task], filled=("cache", "root"))
    if task == "shapes" and data["path"] is not None:
        raise ValueError(f"data.path={data['path']!r}: the shapes are generated; a path is for modelnet40")
    if data["augment"] not in AUGMENTS:
        raise ValueError(f"data.augment={data['augment']!r} is not one of {', '.join(AUGMENTS)}")


def modelnet_root(data: dict, cache) -> Path:
    if data["path"] is None and cache is None:
        raise ValueError("data.path=null and no data_root: give the folder of ModelNet40")
    return Path(data["path"]) if data["path"] is not None else Path(cache) / "modelnet40"


def _n_points(data: dict) -> int:
    return with_defaults(data["settings"], SOURCES[data["task"]])["n_points"]


def build(cfg, data: dict, make_model) -> Built:
    _check(data)
    task, settings = data["task"], dict(data["settings"])
    if task == "shapes":
        clouds = shapes(**settings, cache=cfg.data_root)
    else:
        clouds = modelnet.modelnet40(**settings, root=modelnet_root(data, cfg.data_root), cache=cfg.data_root)
    sets = PointClouds(clouds, data["batch_size"], data["eval_batch_size"], dict(settings, augment=data["augment"]),
                       shuffle_seed=cfg.seed)
    io = dict(n_classes=N_CLASSES[task], n_points=clouds.n_points)
    return Built(data=sets, task=PointCloudTask(make_model(**io), cfg, io["n_classes"], data["augment"]),
                 name=clouds.name, io=io, primary="test/acc",
                 directions={"acc": "max", "macc": "max", "loss": "min"}, unit="clouds",
                 count=lambda batch: len(batch[0]))


def plan(data: dict, cache) -> Planned:
    """Shapes from the settings alone. The example is on the CPU with values in the unit cube: farthest point
    sampling and the curves read the coordinates."""
    _check(data)
    task, n_points = data["task"], _n_points(data)
    missing = None
    if task == "modelnet40":
        root = modelnet_root(data, cache)
        settings = with_defaults(data["settings"], modelnet.modelnet40)
        chosen = {k: settings[k] for k in ("n_points", "val_fraction", "seed")}
        stored = modelnet.stored_path(cache, root, **chosen)
        cached = stored is not None and stored.exists()
        missing = None if modelnet.present(root) or cached else modelnet.missing_line(root)
    io = dict(n_classes=N_CLASSES[task], n_points=n_points)
    return Planned(io, "clouds", 1.0, lambda n: (torch.rand(n, n_points, 3),), missing=missing, device="cpu")


KIND = register_kind(Kind("point_cloud", tuple(SOURCES), DEFAULTS, build, plan=plan))
