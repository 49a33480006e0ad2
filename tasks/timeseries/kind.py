"""The forecasting kind: a look-back window in, the next `horizon` rows out, scored by MSE and MAE."""
from __future__ import annotations

from pathlib import Path

import torch

from ..kinds import Built, Kind, Planned, register_kind
from .data import Forecasting
from .series import ETT_NAMES, ETT_URL, SHIPPED, locate
from .task import ForecastTask

# look-back 96 and the 32-window batches of the iTransformer / TSLib protocol
DEFAULTS = dict(path=None, lookback=96, horizon=96, split="auto", batch_size=32, eval_batch_size=None)


def build(cfg, data: dict, make_model) -> Built:
    series = Forecasting(**data, shuffle_seed=cfg.seed, cache=cfg.data_root)
    io = dict(lookback=series.lookback, horizon=series.horizon, n_vars=series.n_vars)
    return Built(data=series, task=ForecastTask(make_model(**io), cfg), name=series.series.name, io=io,
                 primary="test/mse", directions={"mse": "min", "mae": "min", "loss": "min"}, unit="windows",
                 count=lambda batch: batch[0].shape[0], pivot="horizon")


def task_name(data: dict) -> str:
    return Path(data["path"]).stem if data.get("path") else SHIPPED.stem  # an ETT name is its own stem


ETT_VARIABLES = 7  # every ETT file: six loads and the oil temperature


def plan(data: dict, cache: str) -> Planned:
    """The shapes from the file's header alone; an ETT file not downloaded yet has ETT's 7 variables."""
    path = data["path"]
    target = locate(path, cache, download=False)
    missing = None
    if target.is_file():
        with open(target, encoding="utf-8-sig") as f:
            n_vars = len(f.readline().strip().split(",")) - 1
    elif path in ETT_NAMES:
        n_vars, missing = ETT_VARIABLES, f"{path}: download {ETT_URL.format(name=path)} to {target} (a run does it)"
    else:
        raise ValueError(f"data.path={path}: no such file")
    io = dict(lookback=data["lookback"], horizon=data["horizon"], n_vars=n_vars)
    return Planned(io, "windows", 1, lambda n: (torch.empty(n, data["lookback"], n_vars, device="meta"),), missing)


KIND = register_kind(Kind("forecast", ("forecast",), DEFAULTS, build, task_name, plan=plan))
