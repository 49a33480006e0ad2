"""Language tasks: the synthetic token tasks of the Mamba and Zoology papers (registered as kind `token`)."""
from tasks.language import kind  # noqa: F401  registers the kind
from tasks.language.synthetic import IGNORE_INDEX, TASKS, induction_heads, mqar, selective_copying

__all__ = ["IGNORE_INDEX", "TASKS", "induction_heads", "mqar", "selective_copying"]
