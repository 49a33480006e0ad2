"""Point clouds: shapes classified from their points (PointMamba, a Point-MAE Transformer), tokens made of
point patches and put in order along 3-D space-filling curves (zoo.scan.space)."""
from ..registry import register_domain
from .classifier import PointClassifier

register_domain("point_cloud", "Point clouds")

__all__ = ["PointClassifier"]
