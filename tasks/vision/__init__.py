"""Vision: image classification on shipped, generated or downloaded images (registered as kind `image`)."""
from tasks.vision import kind  # noqa: F401  registers the kind
