"""mambazoo: Mamba variants from the survey's taxonomy, built on one selective-scan core."""
from .registry import create_model, list_models, load_variants, model_info, register_builder, register_model

__all__ = ["create_model", "list_models", "load_variants", "model_info", "register_builder", "register_model"]
