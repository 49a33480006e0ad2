"""Initialisations of the SSM parameters: the step size dt and the diagonal state matrix A."""
from __future__ import annotations

import math

import torch

A_INITS = ("s4d_real", "s4d_lin", "random")


def sample_dt(n: int, dt_min: float, dt_max: float, dt_init_floor: float = 1e-4) -> torch.Tensor:
    """n step sizes log-uniform in [dt_min, dt_max], floored at dt_init_floor (float32)."""
    if not 0 < dt_min <= dt_max:
        raise ValueError(f"need 0 < dt_min <= dt_max, got dt_min={dt_min}, dt_max={dt_max}")
    log_dt = torch.rand(n) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
    return torch.exp(log_dt).clamp(min=dt_init_floor)


def inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """x with softplus(x) = y, for y > 0; written with expm1 so small y keeps its digits."""
    return y + torch.log(-torch.expm1(-y))


def dt_bias(n: int, dt_min: float, dt_max: float, dt_init_floor: float = 1e-4) -> torch.Tensor:
    """A bias whose softplus is a dt drawn by `sample_dt`: the layer starts with that step size."""
    return inverse_softplus(sample_dt(n, dt_min, dt_max, dt_init_floor))


def a_log(channels: int, d_state: int, kind: str = "s4d_real") -> torch.Tensor:
    """log(-A) of shape (channels, d_state); the layers use A = -exp(A_log) so A stays negative.

    s4d_real: A_n = -n (n = 1..d_state), the real part of S4D-LegS's spectrum.
    s4d_lin:  A_n = -1/2, the real part of S4D-Lin (its imaginary part pi*n has no place in a real scan).
    random:   -A_n uniform in [1, d_state]: the range of s4d_real without its structure.
    """
    if kind == "s4d_real":
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(channels, 1)
    elif kind == "s4d_lin":
        a = torch.full((channels, d_state), 0.5)
    elif kind == "random":
        a = 1 + torch.rand(channels, d_state) * (d_state - 1)
    else:
        raise ValueError(f"unknown A_init {kind!r}; choose one of {', '.join(A_INITS)}")
    return torch.log(a)


def no_weight_decay(*params: torch.nn.Parameter):
    """Mark SSM parameters (A_log, D, dt) that weight decay would pull away from their meaning."""
    for p in params:
        p._no_weight_decay = True


def no_reinit(*params: torch.nn.Parameter):
    """Mark a bias whose initial value carries meaning (the dt bias is the initial step size): whole-model
    schemes that zero biases (zoo.layers.weights) leave it as it is."""
    for p in params:
        p._no_reinit = True
