"""Vision: image classification on shipped, generated or downloaded images (registered as kind `image`), and
ImageNet-1k read lazily from disk (kind `imagenet`)."""
from tasks.vision import imagenet_kind, kind  # noqa: F401  registers the kinds
