"""Recommendation: next-item prediction on MovieLens (Mamba4Rec's and SASRec's protocol)."""
from tasks.recommendation import kind  # noqa: F401  registers the kind
