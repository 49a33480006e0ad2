"""Text corpora through Hugging Face `datasets` (online once, then cached): enwik8 and WikiText-103, as bytes.

enwik8 (the first 10^8 bytes of a 2006 English Wikipedia XML dump) comes as one text and is split by byte
offset like the shipped excerpt (corpus.split_bytes, enwik8's customary 90M / 5M / 5M); WikiText-103 (raw)
keeps its own train / validation / test articles, its lines joined as they were. `path` reads the same
format from parquet files instead (train*.parquet, and validation* / test* where the corpus has them, with
a `text` column), which is how the loading is tested offline.
"""
from __future__ import annotations

from pathlib import Path

from ..hub import load_hub

# source -> (hub name, configuration, whether the hub splits it)
HUB = {"enwik8": ("LTCB/enwik8", "enwik8-raw", False), "wikitext103": ("Salesforce/wikitext", "wikitext-103-raw-v1", True)}
HUB_SPLITS = {"train": "train", "val": "validation", "test": "test"}


def hub_text(source: str, path: str | None, cache: str | Path) -> bytes | dict[str, bytes]:
    """The corpus as bytes (one text, to split by offset) or {split: bytes} where the hub splits it."""
    name, config, split = HUB[source]
    loaded = load_hub(name, config, path, list(HUB_SPLITS.values()) if split else ["train"], cache,
                      f"data.source={source}", "use data.source=wiki_excerpt, which ships in gensim", "datasets",
                      loaded_as=name, missing_for=f" for {source}")
    if "text" not in loaded["train"].column_names:
        raise ValueError(f"data.source={source}: expected a text column, got {loaded['train'].column_names}")
    joined = {ours: "".join(loaded[theirs]["text"]).encode("utf-8") for ours, theirs in HUB_SPLITS.items()
              if theirs in loaded}
    return joined if split else joined["train"]
