"""The Transformer baselines of the vision papers, as timm builds them: ViT and DeiT (with its distillation
token), sized by config. Nothing here re-implements what timm provides."""
from __future__ import annotations

import torch

from ..registry import Example, register_builder


def _example() -> Example:
    return Example(dict(image_size=16, in_channels=3, n_classes=5), dict(embed_dim=32, depth=2, num_heads=2),
                   lambda g: (torch.randn(2, 3, 16, 16, generator=g),))


@register_builder("timm_vit", example=_example)
def timm_vit(image_size, in_channels: int, n_classes: int, distilled: bool = False, **settings):
    """timm's VisionTransformer, or VisionTransformerDistilled (DeiT's class + distillation tokens) with
    `distilled`; `settings` are timm's own keywords (patch_size, embed_dim, depth, num_heads, mlp_ratio, ...).
    Without a teacher the DeiT heads are trained on the labels alike and averaged, as timm does outside
    distillation training."""
    try:
        from timm.models.deit import VisionTransformerDistilled
        from timm.models.vision_transformer import VisionTransformer
    except ImportError:
        raise ImportError("the vit and deit baselines need timm: pip install 'mambazoo[vision]'") from None
    cls = VisionTransformerDistilled if distilled else VisionTransformer
    return cls(img_size=image_size, in_chans=in_channels, num_classes=n_classes, **settings)
