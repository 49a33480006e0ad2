"""LightningDataModule for sequence classification: token ids in memory, the training order from the run seed."""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset, default_collate

from ..classify import SplitsData
from .listops import PAD
from .sources import Sequences


def trimmed(batch):
    """A batch cut after its longest sequence's last token: the padding beyond it is masked anyway, so
    it would cost time and change nothing."""
    ids, labels = default_collate(batch)
    return ids[:, :int((ids != PAD).sum(1).max())], labels


class SequenceClassification(SplitsData):
    def __init__(self, sequences: Sequences, batch_size: int, eval_batch_size: int | None, settings: dict,
                 shuffle_seed: int = 0):
        super().__init__(batch_size, eval_batch_size, shuffle_seed)
        self.set, self.settings = sequences, dict(settings)

    @property
    def seqlen(self) -> int:
        return self.set.splits["train"][0].shape[1]

    def split(self, name: str) -> TensorDataset:
        ids, labels = self.set.splits[name]
        return TensorDataset(torch.from_numpy(ids), torch.from_numpy(labels))

    def describe(self) -> dict:
        sizes = {f"n_{s}": len(labels) for s, (_, labels) in self.set.splits.items()}
        # the settings as given and nothing derived from them: ListOps rows at two lengths differ in max_length only
        return dict(task="sequence", dataset=self.set.name, source=self.set.source, classes=self.set.n_classes,
                    vocab_size=self.set.vocab_size, **{**sizes, **self.settings})

    def collate(self, batch):
        return trimmed(batch)
