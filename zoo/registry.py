"""The model registry: architectures (Python builders) and named variants (configs of a builder).

A *builder* is a Python callable that makes a model from keyword settings, e.g. `language_model`.
A *variant* is a name, a builder, default settings and its place in the survey's taxonomy. The
built-in variants are the YAML files under `zoo/variants/`; a user adds one by writing such a file
(or calling `register_model`), never by writing model code.

    create_model("mamba", vocab_size=16, d_model=64)   # the variant's defaults, then these overrides
    create_model("vim", size="vim_s", **io)           # a size the paper headlines (the variant's `sizes`)

A variant's `sizes` name the configurations its paper headlines, each with the data shapes (`io`) its
published parameter count assumes and that count with its source (`without`: a submodule, such as the
classifier head, that the published count leaves out); `size="paper"` is the first of them.
Records are found by a hash of the resolved settings; `fingerprint` adds what the settings do not show: the
builder's `revision` (bumped when a change to the builder alters what it computes), CORE_REVISION (the same
for the shared layers and the scan core) and the builder's own defaults, so changing what a model computes
makes its records stale and changing nothing else does.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

TAXONOMY_KEYS = ("domain", "section", "mechanism", "paper", "year")
VARIANTS_DIR = Path(__file__).parent / "variants"
VARIANTS_ENV = "MAMBAZOO_VARIANTS"

# bump when a change to zoo/layers, zoo/ops or zoo/backbone.py alters what any model computes
CORE_REVISION = 1
SIZE_KEYS = {"config", "io", "published"}

_BUILDERS: dict[str, Callable] = {}
_REVISIONS: dict[str, int] = {}
_EXAMPLES: dict[str, Callable[[], "Example"]] = {}
_DOMAINS: dict[str, tuple[int, str]] = {}
_MODELS: dict[str, "ModelEntry"] = {}
_builtins_loaded = False


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: str
    defaults: dict = field(default_factory=dict)
    taxonomy: dict = field(default_factory=dict)
    source: str = "python"
    sizes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """Small inputs a builder's models are checked on (tests/zoo/test_every_model.py), as timm gives every
    model a default input: `io` the data shapes, `settings` a small size, `inputs(generator)` the arguments
    of the forward pass."""
    io: dict
    settings: dict
    inputs: Callable


def register_builder(name: str, revision: int = 1, example: Callable[[], Example] | None = None):
    """Decorator: make a model class or function available to variants as `builder: <name>`. Raise
    `revision` whenever a change alters what the builder computes: the records of its models become stale.
    `example()`: an `Example` every variant of the builder is tested on."""
    def add(fn):
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"builder {name!r} is already registered ({_BUILDERS[name].__qualname__})")
        _BUILDERS[name], _REVISIONS[name] = fn, revision
        if example is not None:
            _EXAMPLES[name] = example
        return fn
    return add


def example_of(name: str) -> Example | None:
    """The example inputs of model `name`'s builder (None where the builder gives none)."""
    make = _EXAMPLES.get(model_info(name).builder)
    return None if make is None else make()


def register_domain(key: str, title: str, rank: int = 100):
    """A domain of the survey, as `taxonomy.domain` names it: its title in the report, and its place there
    (by `rank`, then key). Called by the domain's package `zoo/<key>/`, so a new domain is listed by itself."""
    _DOMAINS[key] = (rank, title)


def domains() -> dict[str, str]:
    """{key: title} of every registered domain, in the report's order."""
    _load_builtins()
    return {k: title for k, (_, title) in sorted(_DOMAINS.items(), key=lambda kv: (kv[1][0], kv[0]))}


def register_model(name: str, builder: str, taxonomy: dict, source: str = "python", sizes: dict | None = None,
                   **defaults) -> ModelEntry:
    """Register a named variant: `builder` with `defaults`, placed in the taxonomy."""
    _load_builtins()
    return _add(name, builder, taxonomy, source, defaults, sizes)


def _add(name, builder, taxonomy, source, defaults, sizes=None) -> ModelEntry:
    where = f" (from {source})" if source != "python" else ""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a model needs a non-empty string name{where}, got {name!r}")
    if name in _MODELS:
        raise ValueError(f"model {name!r}{where} is already registered (from {_MODELS[name].source}); "
                         f"pick another name")
    if builder not in _BUILDERS:
        raise ValueError(f"model {name!r}{where}: unknown builder {builder!r}; builders: {sorted(_BUILDERS)}")
    missing = [k for k in TAXONOMY_KEYS if k not in (taxonomy or {})]
    if missing:
        raise ValueError(f"model {name!r}{where}: taxonomy lacks {missing} (needs {list(TAXONOMY_KEYS)})")
    _check_settings(name, builder, defaults, where)
    sizes = dict(sizes or {})
    for size, spec in sizes.items():
        if size in ("paper", "size") or not isinstance(spec, dict) or set(spec) - SIZE_KEYS:
            raise ValueError(f"model {name!r}{where}: size {size!r} must be a name other than 'paper' holding "
                             f"{sorted(SIZE_KEYS)}")
        _check_settings(name, builder, spec.get("config") or {}, f"{where} (size {size})")
    entry = ModelEntry(name, builder, dict(defaults), dict(taxonomy), source, sizes)
    _MODELS[name] = entry
    return entry


def load_variants(path: str | Path) -> list[str]:
    """Register every variant YAML file at `path` (a file or a directory searched recursively)."""
    path = Path(path)
    files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    names = []
    for file in files:
        spec = yaml.safe_load(file.read_text()) or {}
        unknown = set(spec) - {"name", "builder", "taxonomy", "config", "sizes"}
        if unknown:
            raise ValueError(f"{file}: unknown keys {sorted(unknown)}; a variant file has name, builder, "
                             f"taxonomy, config and sizes")
        _add(spec.get("name"), spec.get("builder"), spec.get("taxonomy"), str(file), spec.get("config") or {},
             spec.get("sizes"))
        names.append(spec["name"])
    return names


def create_model(name: str, **overrides):
    """Build the variant `name` with its defaults updated by `overrides` (nested dicts are merged)."""
    return _BUILDERS[model_info(name).builder](**resolved_config(name, **overrides))


def resolved_config(name: str, size: str | None = None, **overrides) -> dict:
    """The settings `create_model(name, size=..., **overrides)` builds with: the defaults, deep-merged with
    the named size's settings (None: the variant's own), then with overrides."""
    entry = model_info(name)
    defaults = _merge(entry.defaults, size_spec(name, size)["config"] if size is not None else {})
    _check_settings(name, entry.builder, overrides, "")
    _check_sizes(_merge(_signature_defaults(_BUILDERS[entry.builder]), defaults), overrides)
    return _merge(defaults, overrides)


def size_spec(name: str, size: str) -> dict:
    """The size `size` of model `name` ('paper': its first): {"name", "config", "io", "published"}."""
    sizes = model_info(name).sizes
    key = next(iter(sizes), None) if size == "paper" else size
    if key not in sizes:
        raise ValueError(f"model {name!r} has no size {size!r}; its sizes: "
                         f"{', '.join(['paper', *sizes]) if sizes else 'none'}")
    spec = sizes[key]
    return {"name": key, "config": spec.get("config") or {}, "io": spec.get("io") or {},
            "published": spec.get("published") or {}}


def fingerprint(name: str) -> dict:
    """What a model's records depend on beyond its settings: its builder, the builder's and the shared
    core's revisions, and the builder's own defaults."""
    builder = model_info(name).builder
    return {"builder": builder, "revision": _REVISIONS[builder], "core": CORE_REVISION,
            "defaults": _signature_defaults(_BUILDERS[builder])}


def count_parameters(model) -> int:
    """Trainable parameters, a tied tensor (embedding = head) counted once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters() if p.requires_grad}.values())


def model_info(name: str) -> ModelEntry:
    _load_builtins()
    if name not in _MODELS:
        close = difflib.get_close_matches(str(name), list(_MODELS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}{hint} (registered: {', '.join(sorted(_MODELS))})")
    return _MODELS[name]


def list_models(domain: str | None = None) -> list[str]:
    _load_builtins()
    return sorted(n for n, e in _MODELS.items() if domain is None or e.taxonomy.get("domain") == domain)


def _load_builtins():
    """The built-in variants, then those in the folders of $MAMBAZOO_VARIANTS (os.pathsep-separated).
    Each folder `variants/<domain>/` has a package `zoo.<domain>` whose import registers its builders."""
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for domain in sorted(p.name for p in VARIANTS_DIR.iterdir() if p.is_dir()):
            importlib.import_module(f"{__package__}.{domain}")
        load_variants(VARIANTS_DIR)
        for extra in filter(None, os.environ.get(VARIANTS_ENV, "").split(os.pathsep)):
            if not Path(extra).exists():
                raise FileNotFoundError(f"{VARIANTS_ENV} names {extra}, which does not exist")
            load_variants(extra)


def _settings(fn) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _takes_any(fn) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())


def _check_settings(name, builder, settings, where):
    if _takes_any(_BUILDERS[builder]):  # a thin wrapper (e.g. over timm.create_model) checks its own settings
        return
    known = _settings(_BUILDERS[builder])
    for key in settings:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"model {name!r}{where} has no setting {key!r}{hint} "
                             f"({builder} takes: {', '.join(known)})")


def _signature_defaults(fn) -> dict:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.default is not p.empty}


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_sizes(defaults: dict, settings: dict, where: str = "model."):
    """A setting whose default is a positive number is a size or a rate: a count (integer default) must stay
    above 0, a ratio or probability (float default) at 0 or above, and both finite. Caught here, the error
    names the setting; caught by torch, it is a traceback about a tensor of negative dimension."""
    for key, value in settings.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            _check_sizes(default, value, f"{where}{key}.")
        elif _number(default) and default > 0 and not (
                _number(value) and math.isfinite(value) and (value > 0 if isinstance(default, int) else value >= 0)):
            wanted = "a positive number" if isinstance(default, int) else "a finite number of 0 or more"
            raise ValueError(f"{where}{key} must be {wanted} (default {default}), got {value!r}")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
