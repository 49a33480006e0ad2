"""Sequence mixers (mamba1, mamba2, attention, s4d), the SwiGLU MLP and the norms.

Every mixer maps (batch, seqlen, d_model) to the same shape and decodes token by token with
init_state / step; state_size says how many floats one sequence carries while decoding.
"""
from __future__ import annotations

import inspect

from .attention import AttentionMixer
from .mamba1 import Mamba1Mixer
from .mamba2 import Mamba2Mixer
from .mlp import MLPS, SwiGLU
from .norms import NORMS, GatedRMSNorm, LayerNorm, RMSNorm, build_norm
from .s4d import S4DMixer

MIXERS = {"M": Mamba1Mixer, "2": Mamba2Mixer, "A": AttentionMixer, "S": S4DMixer}
MIXER_NAMES = {"mamba1": "M", "mamba2": "2", "attention": "A", "s4d": "S"}


def _valid() -> str:
    return ", ".join(f"{code!r} ({name})" for name, code in MIXER_NAMES.items())


def mixer_code(code_or_name: str) -> str:
    """'M' or 'mamba1' -> 'M'; anything else is a ValueError listing the valid ones."""
    if code_or_name in MIXERS:
        return code_or_name
    if code_or_name in MIXER_NAMES:
        return MIXER_NAMES[code_or_name]
    raise ValueError(f"unknown mixer {code_or_name!r}; valid mixers: {_valid()}")


def check_mixer_kwargs(code_or_name: str, kwargs: dict):
    """Reject a keyword the mixer does not take, so a misspelled option is never silently dropped."""
    cls = MIXERS[mixer_code(code_or_name)]
    accepted = [p for p in inspect.signature(cls).parameters if p != "d_model"]
    for key in kwargs:
        if key not in accepted:
            raise TypeError(f"{cls.__name__} got an unknown option {key!r}; it takes {', '.join(accepted)}")


def build_mixer(code_or_name: str, d_model: int, **kwargs):
    """The mixer named by a pattern code ('M', '2', 'A', 'S') or a name ('mamba1', ...)."""
    check_mixer_kwargs(code_or_name, kwargs)
    return MIXERS[mixer_code(code_or_name)](d_model, **kwargs)


__all__ = ["Mamba1Mixer", "Mamba2Mixer", "AttentionMixer", "S4DMixer", "SwiGLU", "RMSNorm", "LayerNorm",
           "GatedRMSNorm", "MIXERS", "MIXER_NAMES", "MLPS", "NORMS", "build_mixer", "build_norm", "mixer_code",
           "check_mixer_kwargs"]
