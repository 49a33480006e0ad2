"""The scan core: the only place in mambazoo where a recurrence is computed."""
from .dispatch import backends_used, fallbacks, last_backend
from .selective_scan import selective_scan, selective_scan_step
from .ssd import ssd, ssd_step

__all__ = ["selective_scan", "selective_scan_step", "ssd", "ssd_step", "last_backend", "backends_used", "fallbacks"]
