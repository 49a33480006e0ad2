"""Time series: long-horizon forecasting on ETT-format series (registered as kind `forecast`)."""
from tasks.timeseries import kind  # noqa: F401  registers the kind
