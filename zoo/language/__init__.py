"""Language models: token embedding, a backbone of mixers, a language-model head."""
from ..registry import register_domain
from .lm import LanguageModel

register_domain("language", "Language", rank=0)  # the survey's order in the report

__all__ = ["LanguageModel"]
