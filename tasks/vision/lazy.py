"""LightningDataModule for image sets too large to hold in memory: each image is read from disk and
transformed as its batch is drawn, in `workers` DataLoader processes.

Under DDP the training loader is dealt out rank by rank by tasks/resume.py (a map-style dataset is all it
needs); every rank evaluates the whole validation and test splits.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..classify import SplitsData
from ..resume import Resumable
from .imagenet import ImageNetSet, held_out


class LazyImages(Dataset):
    """(transformed image, label) for the images `indices` of `read` (index -> (PIL image, label))."""

    def __init__(self, read, indices: np.ndarray, transform):
        self.read, self.indices, self.transform = read, indices, transform

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        image, label = self.read(int(self.indices[i]))
        return self.transform(image), label


class LazyImageData(SplitsData):
    """Train: the training images less the `n_val` held out for validation, with the random `train`
    transform; val: those held out; test: the set's official validation images; both with `evaluate`.
    `drop_last`: training batches all of `batch_size` (batch mixing pairs the images of a batch)."""

    def __init__(self, images: ImageNetSet, image_size: int, n_val: int, train, evaluate, batch_size: int,
                 eval_batch_size: int | None, workers: int, shuffle_seed: int = 0, drop_last: bool = False):
        super().__init__(batch_size, eval_batch_size, shuffle_seed)
        if not isinstance(workers, int) or workers < 0:
            raise ValueError(f"data.workers={workers!r}: give the number of loader processes (0: load in the run's)")
        self.set, self.image_size, self.workers, self.drop_last = images, image_size, workers, drop_last
        self.transforms = {"train": train, "val": evaluate, "test": evaluate}
        train_idx, val_idx = held_out(len(images.train), n_val)
        self.indices = {"train": train_idx, "val": val_idx, "test": np.arange(len(images.test))}

    def split(self, name: str) -> LazyImages:
        read = self.set.test if name == "test" else self.set.train
        return LazyImages(read, self.indices[name], self.transforms[name])

    def _loader(self, name: str, **kwargs) -> DataLoader:
        return DataLoader(self.split(name), num_workers=self.workers, pin_memory=torch.cuda.is_available(),
                          persistent_workers=self.workers > 0, **kwargs)

    def train_dataloader(self):
        # the batch order follows the run seed alone; the transforms draw from each worker's seed, which
        # Lightning derives from the run seed (seed_everything(workers=True))
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(self._loader("train", batch_size=self.batch_size, shuffle=True, generator=order,
                                      drop_last=self.drop_last))

    def val_dataloader(self):
        return self._loader("val", batch_size=self.eval_batch_size)

    def test_dataloader(self):
        return self._loader("test", batch_size=self.eval_batch_size)

    def describe(self) -> dict:
        return dict(task="image", dataset=self.set.name, source=self.set.source, classes=self.set.n_classes,
                    image=f"3x{self.image_size}x{self.image_size}",
                    sizes={name: len(idx) for name, idx in self.indices.items()})
