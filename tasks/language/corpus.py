"""Real text as bytes, for byte-level language modelling (MambaByte's setting): no tokenizer, vocabulary 256.

The default corpus is the excerpt of an English Wikipedia XML dump that ships inside gensim's wheel (its test
data, 6.1 MB unpacked: 206 pages of the 2016 dump, markup and all, the format of enwik8, which is the first
100 MB of a 2006 dump). Any other file loads by path (`data.path=`, raw bytes; `.bz2` is unpacked). The splits
are contiguous by byte offset, as enwik8's 90M / 5M / 5M: the first 90% trains, the next 5% validates, the
last 5% tests, so no byte of one split is in another.
"""
from __future__ import annotations

import bz2
import importlib.util
from pathlib import Path

import torch

EXCERPT = ("test", "test_data", "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
FRACTIONS = {"train": 0.90, "val": 0.05, "test": 0.05}


def shipped_excerpt() -> Path:
    """gensim's excerpt, found without importing gensim (its import costs seconds and pulls in scipy)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("data.source=wiki_excerpt reads the Wikipedia excerpt that ships in gensim: "
                          "pip install 'mambazoo[text]' (or give a file with data.path=)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*EXCERPT)
    if not path.is_file():
        raise FileNotFoundError(f"this gensim has no {path.name} (its wheel ships it from 3.x to 4.4); "
                                f"give a file with data.path=")
    return path


def corpus_name(source: str, path: str | None) -> str:
    return Path(path).name.split(".")[0] if path else source


def read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data.path={path}: no such file")
    raw = path.read_bytes()
    if path.suffix == ".bz2":
        try:
            raw = bz2.decompress(raw)
        except (OSError, ValueError) as exc:
            raise ValueError(f"data.path={path}: not a bz2 file ({exc})") from None
    if not raw:
        raise ValueError(f"data.path={path} is empty")
    return raw


def byte_tensor(raw: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)


def split_bytes(raw: bytes) -> dict[str, torch.Tensor]:
    """{split: uint8 tensor}, contiguous by offset in the order train, val, test."""
    data = byte_tensor(raw)
    ends = {"train": int(len(data) * FRACTIONS["train"])}
    ends["val"] = ends["train"] + int(len(data) * FRACTIONS["val"])
    ends["test"] = len(data)
    starts = {"train": 0, "val": ends["train"], "test": ends["val"]}
    return {split: data[starts[split]:ends[split]] for split in FRACTIONS}


def windows(data: torch.Tensor, length: int, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows of `length` bytes: inputs and their next bytes (every position scored). `limit`:
    read only the first `limit` bytes (evaluation budgets). Raises where the data hold no whole window."""
    data = data[:limit] if limit else data
    n = (len(data) - 1) // length
    if n < 1:
        raise ValueError(f"{len(data)} bytes hold no window of {length} bytes and its next byte")
    x = data[: n * length + 1].long()
    return x[:-1].view(n, length), x[1:].view(n, length)
