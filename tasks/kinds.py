"""Task kinds: how a pipeline's `data.task` becomes a DataModule, a LightningModule and what the record
and the leaderboard need to know about it.

A kind (token prediction, forecasting, ...) registers itself, with the `data.task` names it serves, when its
domain package under `tasks/` is imported; `kind_for` imports every domain package once, so adding a
domain never means editing this file.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DIRECTIONS = ("max", "min")


@dataclass
class Built:
    """One run's pieces. `io`: the settings the data decides, passed to `create_model` (vocabulary,
    variables, horizon, ...). `directions`: {base metric name: "max" | "min"} ("acc" covers "test/acc@64").
    `count(batch)`: how many `unit`s (tokens, samples, ...) a training batch holds, for throughput.
    `pivot`: a data setting whose runs the leaderboard shows as columns of one row (metric@value), e.g.
    the forecasting horizon. `input_length`: the length `state_size` is reported at (None: not reported).
    `versus`: a record field the leaderboard plots the primary metric against, one point per model
    configuration (MQAR: `state_size`, Zoology's axis); None: the leaderboard's default plots."""
    data: Any
    task: Any
    name: str
    io: dict
    primary: str
    directions: dict
    unit: str
    count: Callable[[Any], int]
    pivot: str | None = None
    input_length: int | None = None
    versus: str | None = None

    def __post_init__(self):
        bad = {k: v for k, v in self.directions.items() if v not in DIRECTIONS}
        if bad:
            raise ValueError(f"metric directions must be one of {DIRECTIONS}, got {bad}")


@dataclass
class Planned:
    """What the plan of a run (`runners.compare ... plan=true`) needs to know of its data without loading it (a
    small set may be read for its shapes, e.g. MovieLens's item count; a large one never).
    `io`, `unit`: as `Built`'s. `per_example`: the `unit`s one training example holds (a sequence's tokens, a
    graph's nodes). `example(n)`: the model's input for n examples, a tuple for `model(*example(n))`, on
    `device` ("meta" where shapes suffice; "cpu" where the model reads its inputs' values, e.g. a graph's
    edges). `missing`: None when the data is here or is generated on demand, else one line naming what to
    download and where."""
    io: dict
    unit: str
    per_example: float
    example: Callable[[int], tuple]
    missing: str | None = None
    device: str = "meta"


@dataclass(frozen=True)
class Kind:
    """`build(cfg, data, make_model) -> Built`, where `data` holds the resolved data settings and
    `make_model(**io)` returns the network. `data_defaults`: the data settings a pipeline may leave out
    (resolved into the config hash, so a default is part of what a run is). `task_name(data)`: the record's
    task name, known before anything is built. `libraries`: optional libraries its runs import when they
    need them, which a suite's warm worker imports ahead (runners/run/warm.py). `plan(data, cache) -> Planned`:
    the run's shapes and data status without loading the data (None: the kind cannot be planned)."""
    name: str
    tasks: tuple
    data_defaults: dict
    build: Callable
    task_name: Callable[[dict], str] = field(default=lambda data: data["task"])
    libraries: tuple = ()
    plan: Callable[[dict, str], Planned] | None = None


_KINDS: dict[str, Kind] = {}
_loaded = False


def register_kind(kind: Kind) -> Kind:
    for task in kind.tasks:
        other = next((k for k in _KINDS.values() if task in k.tasks and k.name != kind.name), None)
        if other:
            raise ValueError(f"data.task {task!r} is served by kind {other.name!r} already")
    _KINDS[kind.name] = kind
    return kind


def kind_for(task: str) -> Kind:
    """The kind serving `data.task=<task>`, or ValueError naming the tasks there are."""
    _load_domains()
    for kind in _KINDS.values():
        if task in kind.tasks:
            return kind
    known = sorted(t for k in _KINDS.values() for t in k.tasks)
    close = difflib.get_close_matches(str(task), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"data.task={task!r} is no task{hint} (tasks: {', '.join(known)})")


def libraries() -> list[str]:
    """Every kind's optional libraries (see Kind)."""
    _load_domains()
    return sorted({name for kind in _KINDS.values() for name in kind.libraries})


def check_settings(task: str, settings: dict, source: Callable, filled=()):
    """Refuse a data setting that `source` (a generator or loader) does not take, naming those it does;
    `filled`: its arguments the kind passes itself."""
    accepted = sorted(set(inspect.signature(source).parameters) - set(filled))
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise ValueError(f"data.settings has {unknown}, which {task} does not take "
                         f"(it takes {', '.join(accepted) or 'no settings'})")


def with_defaults(settings: dict, source: Callable) -> dict:
    """`settings` with the defaults `source` (a generator or loader) fills in for what they leave out: the values
    it will use, known without calling it (a plan's shapes)."""
    filled = {k: p.default for k, p in inspect.signature(source).parameters.items()
              if p.default is not inspect.Parameter.empty}
    return {**filled, **settings}


def resolve_data(data: dict) -> dict:
    """The data settings with the kind's defaults filled in; an unknown key is a ValueError naming it."""
    kind = kind_for(data.get("task"))
    unknown = sorted(set(data) - set(kind.data_defaults) - {"task"})
    if unknown:
        known = sorted(kind.data_defaults)
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"data.{unknown[0]} is no setting of {kind.name} data{hint} (it takes: {', '.join(known)})")
    return {**kind.data_defaults, **data}


def build(cfg, make_model: Callable[..., Any]) -> Built:
    from omegaconf import OmegaConf
    data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
    return kind_for(data["task"]).build(cfg, data, make_model)


def _load_domains():
    global _loaded
    if not _loaded:
        _loaded = True
        for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if module.ispkg:
                importlib.import_module(f"{__package__}.{module.name}")
