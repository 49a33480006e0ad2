"""LightningDataModule for language modelling on a streamed corpus (tasks/language/stream.py): the Pile,
SlimPajama or PG19, in subword tokens (scored in perplexity) or in bytes (scored in bits per byte).

Training streams endless windows shuffled by the run seed. Validation and test read the first `val_tokens` /
`test_tokens` tokens of their splits, tokenised once and cached under <data_root>/streams, so every run and
every validation scores the same tokens; they are cut into windows of `seq_len` whose targets are the next
tokens (every position scored), as the `bytes` kind cuts its text.
"""
from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..cache import write_whole
from .corpus import windows
from .stream import Corpus, Stream, first_tokens
from .tokenizer import BYTES, load


class StreamText(L.LightningDataModule):
    def __init__(self, task: str, path: str | None, tokenizer: str, seq_len: int, batch_size: int,
                 eval_batch_size: int | None, val_tokens: int, test_tokens: int, workers: int, shuffle_buffer: int,
                 shuffle_seed: int = 0, cache: str = "data"):
        super().__init__()
        for name, value, least in (("seq_len", seq_len, 1), ("batch_size", batch_size, 1),
                                   ("eval_batch_size", eval_batch_size or 1, 1), ("val_tokens", val_tokens, 2),
                                   ("test_tokens", test_tokens, 2), ("workers", workers, 0),
                                   ("shuffle_buffer", shuffle_buffer, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"data.{name}: {value!r} is not an integer >= {least}")
        self.name, self.seq_len, self.batch_size = task, seq_len, batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.encoder = load(tokenizer, cache)
        self.vocab_size, self.input_length = self.encoder.vocab_size, seq_len
        self.metric = "bpb" if tokenizer == BYTES else "ppl"
        self.corpus, self.cache = Corpus(task, path, cache), Path(cache)
        self.corpus.open("train")  # an unreachable corpus fails here, before any model is built
        self.tokens = {"val": self._eval_tokens("val", val_tokens), "test": self._eval_tokens("test", test_tokens)}
        self.data = {split: TensorDataset(*self._windows(split)) for split in self.tokens}
        self.train = Stream(self.corpus, self.encoder, seq_len, batch_size, shuffle_seed, shuffle_buffer, workers)

    def _eval_tokens(self, split: str, n: int) -> torch.Tensor:
        path = self.cache / "streams" / self.corpus.key / self.encoder.tag / f"{split}-{n}.pt"
        if not path.is_file():
            tokens = first_tokens(self.corpus, split, self.encoder, n)
            write_whole(path, lambda partial: torch.save(tokens, partial))
        return torch.load(path, weights_only=True)

    def _windows(self, split):
        try:
            return windows(self.tokens[split], self.seq_len)
        except ValueError:
            raise ValueError(f"{self.name} {split} split: {len(self.tokens[split])} tokens hold no window of "
                             f"{self.seq_len} and its next token; raise data.{split}_tokens or lower data.seq_len") \
                from None

    @property
    def eval_names(self) -> dict[str, list[str]]:
        return {"val": [f"val/{self.metric}"], "test": [f"test/{self.metric}"]}

    def train_dataloader(self):
        return self.train

    def val_dataloader(self):
        return DataLoader(self.data["val"], batch_size=self.eval_batch_size)

    def test_dataloader(self):
        return DataLoader(self.data["test"], batch_size=self.eval_batch_size)

    def describe(self) -> dict:
        return dict(task=self.name, corpus=self.corpus.key, tokenizer=self.encoder.tag, vocab_size=self.vocab_size,
                    seq_len=self.seq_len, **{f"{k}_tokens": len(v) for k, v in self.tokens.items()})
