"""Long-range sequences: ListOps, Pathfinder-32 read pixel by pixel, sequential and permuted MNIST."""
from tasks.long_range import kind  # noqa: F401  registers the kind
