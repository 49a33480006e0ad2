"""DeiT's ImageNet recipe (Touvron et al. 2021; facebookresearch/deit `datasets.py`, `main.py`), which Vim
trains with too: the per-image transforms through timm, and the batch-level mixing (Mixup / CutMix with
label smoothing) that `MixingClassifyTask` applies in its training step.

Left out of the recipe here: EMA of the weights (DeiT keeps one but evaluates the raw model; Vim evaluates
both) and repeated augmentation (DeiT's RASampler: each image 3 times a batch, spread over the GPUs), which
would replace the training sampler that makes runs resumable (tasks/resume.py).
"""
from __future__ import annotations

# timm is imported where it is used: it is an optional extra, and every kind's module is imported by any run
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # timm's IMAGENET_DEFAULT_*, DeiT's
# the transform settings a pipeline may change (data.<name>), with DeiT's values
TRANSFORM = dict(
    auto_augment="rand-m9-mstd0.5-inc1",  # RandAugment, 2 ops of magnitude 9 (std 0.5), increasing variants
    # DeiT passes 0.3, but timm applies colour jitter only without RandAugment (timm's rule then and now),
    # so with the recipe's RandAugment it does nothing; kept for data.auto_augment=null
    color_jitter=0.3,
    random_erasing=0.25,                  # probability; DeiT's mode "pixel" (per-pixel noise), one region
    crop_pct=0.875,                       # evaluation: resize to size / 0.875 (256 for 224), centre crop
)
# batch mixing (switch probability 0.5 between Mixup and CutMix, on every batch: DeiT's values)
MIXING = dict(mixup=0.8, cutmix=1.0, label_smoothing=0.1)


def train_transform(image_size: int, auto_augment: str | None, color_jitter: float, random_erasing: float):
    """Random-resized crop (scale 0.08-1, bicubic), horizontal flip, RandAugment, tensor, ImageNet
    mean/std normalisation, random erasing: a fresh draw for every image read."""
    from timm.data import create_transform
    return create_transform(image_size, is_training=True, auto_augment=auto_augment, color_jitter=color_jitter,
                            re_prob=random_erasing, re_mode="pixel", re_count=1, interpolation="bicubic",
                            mean=IMAGENET_MEAN, std=IMAGENET_STD)


def eval_transform(image_size: int, crop_pct: float):
    """Resize the short side to image_size / crop_pct (bicubic), centre crop, tensor, normalise: no draw."""
    from timm.data import create_transform
    return create_transform(image_size, is_training=False, crop_pct=crop_pct, interpolation="bicubic",
                            mean=IMAGENET_MEAN, std=IMAGENET_STD)


def mixer(mixup: float, cutmix: float, label_smoothing: float, n_classes: int):
    """timm's Mixup (soft targets from a batch's images and labels), or None where neither is on."""
    if not mixup and not cutmix:
        return None
    from timm.data import Mixup
    return Mixup(mixup_alpha=mixup, cutmix_alpha=cutmix, label_smoothing=label_smoothing, num_classes=n_classes)
