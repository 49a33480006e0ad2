"""Language models: token embedding, a backbone of mixers, a language-model head."""
from .lm import LanguageModel

__all__ = ["LanguageModel"]
