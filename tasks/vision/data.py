"""LightningDataModule for image classification: uint8 images in memory, normalised per channel with the
training split's statistics as batches are drawn."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..classify import SplitsData
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


class ImageClassification(SplitsData):
    def __init__(self, images: ImageSet, batch_size: int, eval_batch_size: int | None, shuffle_seed: int = 0):
        super().__init__(batch_size, eval_batch_size, shuffle_seed)
        self.set = images
        train = torch.from_numpy(images.splits["train"][0]).float() / 255
        self.mean = train.mean(dim=(0, 2, 3))
        self.std = train.std(dim=(0, 2, 3)).clamp_min(1e-6)

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

    def collate(self, batch):
        return batch  # Images.__getitems__ already made the batch
