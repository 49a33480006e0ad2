"""The plans of the language kinds (tasks.kinds.Planned): the model's io and input shape from the data
settings alone, and whether the data are on this machine, with nothing generated, read or downloaded."""
from __future__ import annotations

from pathlib import Path

import torch

from ..hub import hub_cached, parquet_files
from ..kinds import Planned, with_defaults
from . import stream, tokenizer
from .hub import HUB, HUB_SPLITS
from .synthetic import TASKS

# each synthetic task's sequence length from its settings (the layouts in tasks/language/synthetic.py)
LENGTHS = {"selective_copying": lambda s: s["seq_len"] + 2 * s["num_tokens"],
           "induction_heads": lambda s: s["seq_len"] + 1,
           "mqar": lambda s: s["seq_len"]}


def _tokens(n_tokens: int, unit: str, io: dict, missing: str | None = None) -> Planned:
    return Planned(io, unit, n_tokens, lambda n: (torch.zeros(n, n_tokens, dtype=torch.long, device="meta"),), missing)


def plan_token(data: dict, cache: str) -> Planned:
    settings = with_defaults(data["settings"], TASKS[data["task"]])
    return _tokens(LENGTHS[data["task"]](settings), "tokens", dict(vocab_size=int(settings["vocab_size"])))


def plan_bytes(data: dict, cache: str) -> Planned:
    source, path = data["source"], data["path"]
    missing = None
    if source in HUB:
        name, config, split = HUB[source]
        splits = list(HUB_SPLITS.values()) if split else ["train"]
        if path is not None:
            empty = [s for s in splits if not parquet_files(path, s)]
            missing = f"data.path={path} has no {empty[0]}*.parquet file for {source}" if empty else None
        elif hub_cached(name, cache) is None:
            missing = (f"data.source={source}: {name} is not cached under {Path(cache) / 'hf'}: run once online to "
                       f"cache it, or give data.path=<folder of parquet files>")
    elif path is not None and not Path(path).is_file():
        missing = f"data.path={path}: no such file"
    return _tokens(data["seq_len"], "bytes", dict(vocab_size=256), missing)


def plan_stream(data: dict, cache: str) -> Planned:
    """The vocabulary of a tokenizer not fetched yet is known for the default one only; another is costed at
    the default's size until it is fetched, and `missing` says so."""
    name = data["tokenizer"]
    vocab = tokenizer.plan_vocab(name, cache)
    io = dict(vocab_size=vocab or tokenizer.plan_vocab(tokenizer.DEFAULT, cache))
    guessed = None if vocab else f"(its vocabulary costed as {tokenizer.DEFAULT}'s until it is fetched)"
    lacking = [tokenizer.missing(name, cache), guessed, stream.missing(data["task"], data["path"], cache)]
    missing = "; ".join(m for m in lacking if m) or None
    return _tokens(data["seq_len"], "bytes" if name == tokenizer.BYTES else "tokens", io, missing)
