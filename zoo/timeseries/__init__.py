"""Time-series forecasters: variate-token and patch-token models over the zoo's backbones, TimeMachine and
DLinear, plus Bi-Mamba+'s series-relation-aware decider."""
from ..registry import register_domain
from .dlinear import DLinear
from .sra import sra_decision
from .timemachine import TimeMachine
from .tokens import PatchForecaster, VariateForecaster

register_domain("timeseries", "Time series", rank=3)  # the survey's order in the report

__all__ = ["DLinear", "PatchForecaster", "TimeMachine", "VariateForecaster", "sra_decision"]
