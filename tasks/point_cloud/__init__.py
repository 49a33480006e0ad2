"""Point clouds: shape classification on generated parametric shapes and on ModelNet40."""
from tasks.point_cloud import kind  # noqa: F401  registers the kind
