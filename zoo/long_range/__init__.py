"""Long-range sequences: token sequences classified whole (ListOps, Pathfinder as pixels, sequential MNIST)."""
from .classifier import SequenceClassifier

__all__ = ["SequenceClassifier"]
