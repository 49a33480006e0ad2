"""LightningDataModule for image classification: uint8 images in memory, normalised per channel with the
training split's statistics as batches are drawn."""
from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..resume import Resumable
from .sources import ImageSet


class Images(Dataset):
    """(image float (C, H, W) normalised, label) pairs; batches are cut in one indexing step."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: torch.Tensor, std: torch.Tensor):
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(labels)
        self.mean, self.std = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)

    def __len__(self):
        return len(self.labels)

    def __getitems__(self, indices):
        index = torch.as_tensor(indices)
        return (self.images[index].float() / 255 - self.mean) / self.std, self.labels[index]

    def __getitem__(self, i):
        images, labels = self.__getitems__([i])
        return images[0], labels[0]


def _collate(batch):
    return batch  # __getitems__ already made the batch


class ImageClassification(L.LightningDataModule):
    def __init__(self, images: ImageSet, batch_size: int, eval_batch_size: int | None, shuffle_seed: int = 0):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size!r}: give a positive integer")
        self.set = images
        train = torch.from_numpy(images.splits["train"][0]).float() / 255
        self.mean = train.mean(dim=(0, 2, 3))
        self.std = train.std(dim=(0, 2, 3)).clamp_min(1e-6)
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.shuffle_seed = shuffle_seed

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.set.splits["train"][0].shape[1:])

    def split(self, name: str) -> Images:
        images, labels = self.set.splits[name]
        return Images(images, labels, self.mean, self.std)

    def describe(self) -> dict:
        channels, height, width = self.shape
        return dict(task="image", dataset=self.set.name, source=self.set.source, classes=self.set.n_classes,
                    image=f"{channels}x{height}x{width}",
                    sizes={name: len(labels) for name, (_, labels) in self.set.splits.items()})

    def train_dataloader(self):
        order = torch.Generator().manual_seed(self.shuffle_seed)
        return Resumable(DataLoader(self.split("train"), batch_size=self.batch_size, shuffle=True,
                                    generator=order, collate_fn=_collate))

    def val_dataloader(self):
        return DataLoader(self.split("val"), batch_size=self.eval_batch_size, collate_fn=_collate)

    def test_dataloader(self):
        return DataLoader(self.split("test"), batch_size=self.eval_batch_size, collate_fn=_collate)
