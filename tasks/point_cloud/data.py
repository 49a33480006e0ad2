"""The point-cloud DataModule (clouds in memory, the training order from the run seed) and the task: the
whole-input classification task with the fine-tuning augmentation of Point-MAE and PointMamba on ModelNet40
and the mean class accuracy those papers' tables also report."""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset, default_collate

from ..classify import ClassifyTask, SplitsData
from .shapes import Clouds

AUGMENTS = ("scale_translate", "none")
# Point-MAE's PointcloudScaleAndTranslate (datasets/data_transforms.py), its ModelNet40 fine-tuning transform:
# every cloud scaled along each axis by U(2/3, 3/2) and shifted along each by U(-0.2, 0.2)
SCALE, SHIFT = (2 / 3, 3 / 2), 0.2


class PointClouds(SplitsData):
    def __init__(self, clouds: Clouds, batch_size: int, eval_batch_size: int | None, settings: dict,
                 shuffle_seed: int = 0):
        super().__init__(batch_size, eval_batch_size, shuffle_seed)
        self.set, self.settings = clouds, dict(settings)

    def split(self, name: str) -> TensorDataset:
        points, labels = self.set.splits[name]
        return TensorDataset(torch.from_numpy(points), torch.from_numpy(labels))

    def describe(self) -> dict:
        sizes = {f"n_{s}": len(labels) for s, (_, labels) in self.set.splits.items()}
        # the settings as given, then what they came to (the split sizes of a ModelNet40 copy)
        return dict(task="point_cloud", dataset=self.set.name, source=self.set.source, classes=len(self.set.classes),
                    **{**sizes, "n_points": self.set.n_points, **self.settings})

    def collate(self, batch):
        return default_collate(batch)


def scale_translate(points: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Point-MAE's PointcloudScaleAndTranslate on a batch (batch, n, 3), drawn on the CPU from `generator`."""
    shape = (len(points), 1, 3)
    low, high = SCALE
    scale = low + (high - low) * torch.rand(shape, generator=generator)
    shift = SHIFT * (2 * torch.rand(shape, generator=generator) - 1)
    return points * scale.to(points) + shift.to(points)


class PointCloudTask(ClassifyTask):
    """ClassifyTask with the training clouds augmented (`augment`), each step's draw seeded by the run seed and
    the step (so a resumed run draws what it would have drawn), and the mean class accuracy (`macc`: each
    class's accuracy averaged over the classes, PointNet's and ModelNet's second number) of each split."""

    def __init__(self, model, cfg, n_classes: int, augment: str = "scale_translate"):
        super().__init__(model, cfg)
        if augment not in AUGMENTS:
            raise ValueError(f"data.augment={augment!r} is not one of {', '.join(AUGMENTS)}")
        self.augment, self.n_classes, self.seed = augment, n_classes, int(cfg.seed)
        self.per_class = {}

    def training_step(self, batch, batch_idx):
        points, labels = batch
        if self.augment == "scale_translate":
            draw = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.global_step))
            points = scale_translate(points, draw)
        return super().training_step((points, labels), batch_idx)

    def keep(self, split, name, num, den, targets, kind="ratio"):
        # ClassifyTask hands every split's per-example hits here: counted per class for the mean class accuracy
        if name == f"{split}/acc":
            hits, counts = self.per_class.setdefault(split, (torch.zeros(self.n_classes, dtype=torch.float64),
                                                             torch.zeros(self.n_classes, dtype=torch.float64)))
            labels = targets.detach().cpu()
            hits.index_add_(0, labels, num.detach().cpu().double())
            counts.index_add_(0, labels, torch.ones(len(labels), dtype=torch.float64))
        super().keep(split, name, num, den, targets, kind)

    def _log_epoch(self, split):
        super()._log_epoch(split)
        hits, counts = self.per_class.pop(split, (None, None))
        if counts is not None and counts.sum() > 0:
            seen = counts > 0
            self.log(f"{split}/macc", (hits[seen] / counts[seen]).mean().item())
