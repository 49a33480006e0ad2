"""LightningDataModule for the synthetic token tasks: seeded, deterministic, the same for every model.

The data depend only on (task, settings, sizes, data seed): the run seed (initialisation, shuffling)
never changes them, so every model of a comparison trains and is scored on the same examples.
"""
from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..kinds import check_settings
from ..resume import Resumable
from .synthetic import TASKS

SPLITS = {"train": 0, "val": 1, "test": 2}


class TokenLoaders(L.LightningDataModule):
    """The loaders of a token data module whose `data` is {split: [TensorDataset, ...]}: one training set,
    shuffled by the run seed, and one evaluation loader per set of the val and test splits."""

    def train_dataloader(self):
        # the batch order follows the run seed alone: with the global generator it would also depend on
        # how many random numbers the model's initialisation drew, i.e. differ between compared models
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(DataLoader(self.data["train"][0], batch_size=self.batch_size, shuffle=True,
                                    drop_last=False, generator=order))

    def val_dataloader(self):
        return [DataLoader(d, batch_size=self.eval_batch_size) for d in self.data["val"]]

    def test_dataloader(self):
        return [DataLoader(d, batch_size=self.eval_batch_size) for d in self.data["test"]]


class SyntheticTokens(TokenLoaders):
    """`settings` are the generator's own arguments (see tasks.language.synthetic); `eval_lengths`
    adds test sets at other sequence lengths (length extrapolation), scored as test/acc@<length>."""

    def __init__(self, task: str, settings: dict, n_train: int, n_val: int, n_test: int, batch_size: int,
                 eval_batch_size: int | None = None, eval_lengths: list[int] | None = None, seed: int = 0,
                 shuffle_seed: int = 0):
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown synthetic task {task!r}; choose one of {', '.join(TASKS)}")
        self.task, self.settings, self.seed = task, dict(settings), seed
        self._check_settings()
        self.sizes = {"train": n_train, "val": n_val, "test": n_test}
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.eval_lengths = list(eval_lengths or [])
        if self.eval_lengths and "seq_len" not in self.settings:
            raise ValueError(f"eval_lengths needs a seq_len setting, and {task} has none")
        self.shuffle_seed = shuffle_seed
        self.data: dict[str, list[TensorDataset]] = {}
        # generate once, up front: a bad setting fails before any model is built
        self.input_length = self._generate(self.settings, "val", 1).tensors[0].shape[1]

    @property
    def vocab_size(self) -> int:
        return int(self.settings["vocab_size"])

    @property
    def eval_names(self) -> dict[str, list[str]]:
        return {"val": ["val/acc"], "test": ["test/acc"] + [f"test/acc@{n}" for n in self.eval_lengths]}

    def describe(self) -> dict:
        return dict(task=self.task, **self.settings, **{f"n_{k}": v for k, v in self.sizes.items()},
                    eval_lengths=self.eval_lengths, data_seed=self.seed)

    def setup(self, stage=None):
        if not self.data:
            self.data = {split: [self._generate(self.settings, split, n)] for split, n in self.sizes.items()}
            for i, length in enumerate(self.eval_lengths):
                settings = dict(self.settings, seq_len=length)
                self.data["test"].append(self._generate(settings, "test", self.sizes["test"], offset=i + 1))

    def _generate(self, settings, split, n, offset=0):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + SPLITS[split] * 1009 + offset)
        return TensorDataset(*TASKS[self.task](n, generator=g, **settings))

    def _check_settings(self):
        check_settings(self.task, self.settings, TASKS[self.task], filled=("n", "generator"))
