"""LightningDataModule of next-item prediction: training windows, and per user one validation and one test
history, all in memory; the training order follows the run seed."""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset, default_collate

from ..classify import SplitsData
from .sequences import PAD, Split


def trimmed(batch):
    """A batch cut after its longest sequence's last item (sequences are right-padded and the models causal,
    so the padding after a sequence never reaches it; cutting it only saves time)."""
    columns = default_collate(batch)
    width = int((columns[0] != PAD).sum(1).max())
    return tuple(c[:, :width] if c.dim() == 2 else c for c in columns)  # inputs, and a window's targets


class NextItemData(SplitsData):
    def __init__(self, split: Split, name: str, source: str, batch_size: int, eval_batch_size: int | None,
                 settings: dict, shuffle_seed: int = 0):
        super().__init__(batch_size, eval_batch_size, shuffle_seed)
        self.set, self.name, self.source, self.settings = split, name, source, dict(settings)

    def split(self, name: str) -> TensorDataset:
        arrays = getattr(self.set, name)
        return TensorDataset(*(torch.from_numpy(a) for a in arrays))

    def describe(self) -> dict:
        s = self.set
        return dict(task="next_item", dataset=self.name, source=self.source, n_users=s.n_users,
                    n_items=s.n_items - 1, n_interactions=s.n_interactions, n_train_windows=len(s.train[0]),
                    n_train_targets=int((s.train[1] != PAD).sum()), n_val=len(s.val[2]), n_test=len(s.test[2]),
                    **self.settings)

    def collate(self, batch):
        return trimmed(batch)
