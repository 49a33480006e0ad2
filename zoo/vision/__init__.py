"""Vision: the scanning taxonomy's models over a patch grid, and timm's ViT / DeiT as baselines."""
from ..registry import register_domain
from .model import VisionModel
from .timm_models import timm_vit

register_domain("vision", "Vision", rank=1)  # the survey's order in the report

__all__ = ["VisionModel", "timm_vit"]
