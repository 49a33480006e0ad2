"""Classification trained on mixed batches (Mixup / CutMix soft targets) or smoothed labels; validation and
test score the plain images against their labels, as `ClassifyTask` does."""
from __future__ import annotations

import torch.nn.functional as F

from ..classify import ClassifyTask


class MixingClassifyTask(ClassifyTask):
    """`mix(images, labels) -> (images, soft targets)` (timm's Mixup, which smooths too), or None: hard labels
    smoothed by `label_smoothing`."""

    def __init__(self, model, cfg, mix=None, label_smoothing: float = 0.0):
        super().__init__(model, cfg)
        from timm.loss import SoftTargetCrossEntropy  # an optional extra, needed once a run builds
        self.mix, self.label_smoothing, self.soft_loss = mix, label_smoothing, SoftTargetCrossEntropy()

    def training_step(self, batch, batch_idx):
        inputs, labels = batch
        if self.mix is None:
            logits = self(inputs).float()
            loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
            hits = logits.argmax(-1) == labels
        else:
            inputs, targets = self.mix(inputs, labels)
            logits = self(inputs).float()
            loss = self.soft_loss(logits, targets)
            hits = logits.argmax(-1) == targets.argmax(-1)  # against the larger part of each mixed image
        self.check_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", hits.float().mean(), prog_bar=True)
        return loss
