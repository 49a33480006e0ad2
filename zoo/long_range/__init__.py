"""Long-range sequences: token sequences classified whole (ListOps, Pathfinder as pixels, sequential MNIST)."""
from ..registry import register_domain
from .classifier import SequenceClassifier

register_domain("long_range", "Long-range sequences", rank=4)  # the survey's order in the report

__all__ = ["SequenceClassifier"]
