"""mambazoo: Mamba variants from the survey's taxonomy, built on one selective-scan core."""
from .registry import (count_parameters, create_model, fingerprint, list_models, load_variants, model_info,
                       register_builder, register_model, resolved_config, size_spec)

__all__ = ["count_parameters", "create_model", "fingerprint", "list_models", "load_variants", "model_info",
           "register_builder", "register_model", "resolved_config", "size_spec"]
