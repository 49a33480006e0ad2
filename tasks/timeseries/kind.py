"""The forecasting kind: a look-back window in, the next `horizon` rows out, scored by MSE and MAE."""
from __future__ import annotations

from pathlib import Path

from ..kinds import Built, Kind, register_kind
from .data import Forecasting
from .series import SHIPPED
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


KIND = register_kind(Kind("forecast", ("forecast",), DEFAULTS, build, task_name))
