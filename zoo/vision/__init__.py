"""Vision: the scanning taxonomy's models over a patch grid, and timm's ViT / DeiT as baselines."""
from .model import VisionModel
from .timm_models import timm_vit

__all__ = ["VisionModel", "timm_vit"]
