"""Tokenizers of streamed corpora (tasks/language/stream.py): raw bytes, or a Hugging Face tokenizer.

`bytes` is MambaByte's setting: every UTF-8 byte is a token (vocabulary 256) and nothing marks where one
document ends, as in the `bytes` kind. Any other value is a `tokenizer.json`, read with the `tokenizers`
package: a path to that file (or to a folder holding it), or a hub name whose tokenizer.json is fetched once
into <data_root>/hf. The default, EleutherAI/gpt-neox-20b, is the Mamba paper's (50,277 tokens with the added
ones; the models pad the vocabulary to a multiple of 8, 50,280, as mamba_ssm's `pad_vocab_size_multiple`).
Documents are joined with the tokenizer's end-of-text token.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

BYTES = "bytes"
DEFAULT = "EleutherAI/gpt-neox-20b"
PAD_MULTIPLE = 8
END_OF_TEXT = ("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>")
# vocabularies (added tokens included) of hub tokenizers, so a plan knows the model's io before any download
KNOWN_VOCAB = {DEFAULT: 50277}


def padded(vocab: int) -> int:
    return -(-vocab // PAD_MULTIPLE) * PAD_MULTIPLE


def _local_file(tokenizer: str) -> Path | None:
    path = Path(tokenizer)
    if path.is_dir():
        path = path / "tokenizer.json"
    return path if path.is_file() else None


def _is_path(tokenizer: str) -> bool:
    return tokenizer.endswith(".json") or Path(tokenizer).exists() or tokenizer.startswith((".", "/", "~"))


def cached_file(tokenizer: str, cache: str | Path) -> Path | None:
    """The tokenizer.json of `tokenizer` if it is on this machine (nothing is downloaded), else None."""
    if _is_path(tokenizer):
        return _local_file(tokenizer)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(tokenizer, "tokenizer.json", cache_dir=str(Path(cache) / "hf"))
    return Path(found) if isinstance(found, str) else None


def missing(tokenizer: str, cache: str | Path) -> str | None:
    """None where the tokenizer can be loaded offline, else one line naming what to fetch."""
    if tokenizer == BYTES or cached_file(tokenizer, cache):
        return None
    if _is_path(tokenizer):
        return f"data.tokenizer={tokenizer}: no such tokenizer.json"
    return (f"data.tokenizer={tokenizer}: its tokenizer.json is not under {Path(cache) / 'hf'}: run once online "
            f"to fetch it, or give data.tokenizer=<path to tokenizer.json>")


def plan_vocab(tokenizer: str, cache: str | Path) -> int | None:
    """The model's vocabulary without downloading: None where the tokenizer is neither here nor known."""
    if tokenizer == BYTES:
        return 256
    file = cached_file(tokenizer, cache)
    if file is not None:
        return load(tokenizer, cache).vocab_size
    return padded(KNOWN_VOCAB[tokenizer]) if tokenizer in KNOWN_VOCAB else None


class Encoder:
    """Texts to token ids (numpy int64 arrays). `tag` names the tokenizer in cache paths (a file's by its hash,
    so an edited tokenizer.json never reads tokens cached for the old one)."""

    def __init__(self, name: str, tokenizer=None, tag: str = BYTES):
        self.name, self.tokenizer, self.tag = name, tokenizer, tag
        if tokenizer is None:
            self.vocab_size, self.eot = 256, None
            return
        self.vocab_size = padded(tokenizer.get_vocab_size(with_added_tokens=True))
        ids = [tokenizer.token_to_id(t) for t in END_OF_TEXT]
        self.eot = next((i for i in ids if i is not None), None)
        if self.eot is None:
            raise ValueError(f"data.tokenizer={name} has no end-of-text token ({', '.join(END_OF_TEXT)}) to join "
                             f"documents with")

    def encode(self, texts: list[str]) -> np.ndarray:
        """The documents' tokens, one after another, each followed by the end-of-text token (bytes: none)."""
        if self.tokenizer is None:
            return np.frombuffer("".join(texts).encode("utf-8"), dtype=np.uint8).astype(np.int64)
        parts = []
        for encoding in self.tokenizer.encode_batch(texts, add_special_tokens=False):
            parts += [np.asarray(encoding.ids, dtype=np.int64), np.array([self.eot], dtype=np.int64)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def load(tokenizer: str, cache: str | Path) -> Encoder:
    """The Encoder of data.tokenizer; a hub tokenizer is fetched into <cache>/hf once (ConnectionError offline)."""
    if tokenizer == BYTES:
        return Encoder(BYTES)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ImportError(f"data.tokenizer={tokenizer} needs the tokenizers package: pip install 'mambazoo[text]'") \
            from None
    file = cached_file(tokenizer, cache)
    if file is None and _is_path(tokenizer):
        raise FileNotFoundError(f"data.tokenizer={tokenizer}: no such tokenizer.json")
    if file is None:
        try:
            from huggingface_hub import hf_hub_download
            file = Path(hf_hub_download(tokenizer, "tokenizer.json", cache_dir=str(Path(cache) / "hf")))
        except Exception as exc:  # offline, the hub's errors differ by version: all mean "not reachable"
            raise ConnectionError(f"data.tokenizer={tokenizer}: could not fetch its tokenizer.json from the Hugging "
                                  f"Face hub ({type(exc).__name__}); the machine may be offline: run once online to "
                                  f"cache it under {Path(cache) / 'hf'}, or give data.tokenizer=<path to "
                                  f"tokenizer.json>") from None
    try:
        loaded = Tokenizer.from_file(str(file))
    except Exception as exc:
        raise ValueError(f"data.tokenizer={tokenizer}: {file} is no tokenizer.json ({type(exc).__name__})") from None
    digest = hashlib.sha1(file.read_bytes()).hexdigest()[:10]
    stem = file.parent.name if _is_path(tokenizer) else tokenizer.replace("/", "--")
    return Encoder(tokenizer, loaded, tag=f"{stem}-{digest}")
