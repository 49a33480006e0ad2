"""Recommendation: sequential recommenders that score every item as the next one a user takes."""
from ..registry import register_domain
from .recommender import SequentialRecommender

register_domain("recommendation", "Recommendation", rank=5)  # after long-range sequences in the report

__all__ = ["SequentialRecommender"]
