"""LightningDataModule for byte-level language modelling on real text: the Wikipedia excerpt that ships in
gensim or any file (tasks/language/corpus.py), or enwik8 / WikiText-103 through Hugging Face (hub.py).

Training windows are `seq_len` bytes, shuffled by the run seed. Validation reads the validation split at
`seq_len`; the test split is read at `seq_len` and at every length of `eval_lengths` (the same bytes cut into
longer windows: does the prediction hold when the context grows past the training length?), each scored in
bits per byte. `eval_bytes` caps how many bytes of each evaluation split are read (a CPU budget); the bytes
after the last whole window of a length are not scored, so a longer length scores a few fewer of them (at
the suite's 32 KB: 32,512 bytes at 256, 28,672 at 4,096).
"""
from __future__ import annotations

from torch.utils.data import TensorDataset

from .corpus import byte_tensor, corpus_name, read_bytes, shipped_excerpt, split_bytes, windows
from .data import TokenLoaders
from .hub import HUB, hub_text

SOURCES = ("wiki_excerpt", *HUB)


class ByteText(TokenLoaders):
    vocab_size = 256

    def __init__(self, source: str, path: str | None, seq_len: int, batch_size: int, eval_batch_size: int | None,
                 eval_lengths: list[int], eval_bytes: int | None, shuffle_seed: int = 0, cache: str = "data"):
        super().__init__()
        for name, value in (("seq_len", seq_len), ("batch_size", batch_size), ("eval_bytes", 1 if eval_bytes is None else eval_bytes),
                            *(("eval_lengths", n) for n in eval_lengths)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"data.{name}: {value!r} is not a positive integer")
        if source not in SOURCES:
            raise ValueError(f"data.source={source!r} is no corpus; choose one of {', '.join(SOURCES)}")
        self.name = source if source in HUB else corpus_name(source, path)
        self.seq_len, self.batch_size = seq_len, batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.eval_lengths, self.eval_bytes, self.shuffle_seed = list(eval_lengths), eval_bytes, shuffle_seed
        if source in HUB:  # path: the hub's format in parquet files (tests, mirrors)
            text = hub_text(source, path, cache)
            self.splits = {k: byte_tensor(v) for k, v in text.items()} if isinstance(text, dict) else split_bytes(text)
        else:
            self.splits = split_bytes(read_bytes(path or shipped_excerpt()))
        self.input_length = seq_len
        # cut every window now: a split too short for its windows fails before any model is built
        self.data = {"train": [self._set("train", seq_len)], "val": [self._set("val", seq_len)],
                     "test": [self._set("test", n) for n in [seq_len, *self.eval_lengths]]}

    def _set(self, split, length):
        try:
            return TensorDataset(*windows(self.splits[split], length, None if split == "train" else self.eval_bytes))
        except ValueError as exc:
            setting = "data.seq_len" if length == self.seq_len else "data.eval_lengths"
            raise ValueError(f"{self.name} {split} split: {exc}; give a longer text or a smaller {setting}") \
                from None

    @property
    def eval_names(self) -> dict[str, list[str]]:
        return {"val": ["val/bpb"], "test": ["test/bpb"] + [f"test/bpb@{n}" for n in self.eval_lengths]}

    def describe(self) -> dict:
        return dict(task="bytes", corpus=self.name, seq_len=self.seq_len, eval_lengths=self.eval_lengths,
                    eval_bytes=self.eval_bytes, **{f"{k}_bytes": len(v) for k, v in self.splits.items()})
