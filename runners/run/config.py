"""Composing configs with Hydra's compose API, and turning every usage error into one clear line."""
from __future__ import annotations

import sys
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


class UsageError(Exception):
    """A problem the user fixes by changing a command or a config; printed as one line, no traceback."""


def compose(config_name: str, overrides: list[str]):
    """The composed config (validated against runners.schema), or UsageError naming what is wrong."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from runners.run import schema

    schema.register()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base=None):
            cfg = hydra_compose(config_name, overrides=[_open_model_key(o) for o in overrides])
        _check_missing(cfg)
        return cfg
    except (HydraException, OmegaConfBaseException) as exc:
        raise UsageError(_one_line(exc)) from None


def _open_model_key(override: str) -> str:
    """`model.<setting>=v` may name any setting of the variant (the registry checks it, with a
    suggestion for a typo), so it adds or replaces the key without Hydra's `++` prefix."""
    return "++" + override if override.startswith("model.") else override


def _check_missing(cfg):
    from omegaconf import OmegaConf
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise UsageError(f"config leaves {', '.join(missing)} unset; give it on the command line, e.g. {missing[0]}=...")


def _one_line(exc: BaseException) -> str:
    """Hydra's message and its cause, squeezed onto one line."""
    parts = [str(exc)]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) not in parts[0]:
        parts.append(str(cause))
    text = " ".join(" ".join(p.split()) for p in parts if p)
    return text.split(" Config search path:")[0]


def main_guard(main, prog: str) -> int:
    """Run `main`; a UsageError ends in one line on stderr and exit status 2."""
    try:
        return main() or 0
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
