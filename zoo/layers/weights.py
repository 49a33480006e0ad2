"""Whole-model initialisation schemes, one per reference code, chosen by a builder's `init` setting.

Each scheme follows the rules of the code its papers released (read there for facts, written here anew):

- `mamba` (mamba_ssm `MambaLMHeadModel._init_weights`, also Vim's backbone): embeddings N(0, 0.02); Linear
  biases zero, except those marked `_no_reinit` (the dt bias, whose value *is* the initial step size); each
  residual branch's output projection (`out_proj`, the MLP's `w_out`) drawn as nn.Linear draws it, then
  divided by sqrt(n_residuals * n_layer), so the residual stream's variance does not grow with depth.
- `vim` (Vim's `segm_init_weights` on the stem and head, `mamba` on the blocks): the `mamba` rules, then
  the patch-embedding conv LeCun-normal and every head Linear trunc-normal(0.02), zero bias.
- `trunc_normal` (VMamba's `_init_weights`, PlainMamba's mmcv config, LocalVim's `segm_init_weights`): every
  nn.Linear trunc-normal(0.02), zero bias; norms one and zero. Where those codes also redraw the dt
  projection this way, ours keeps the Mamba dt initialisation their papers describe (the variant says so).
- `torch`: PyTorch's own defaults (the forecasters' and PyG's reference codes add nothing to them).

The dt bias, A and D keep the initialisation their mixers give them (zoo.layers.init) in every scheme.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .norms import LayerNorm, RMSNorm

INITS: dict = {}
RESIDUAL_OUTPUTS = ("out_proj.weight", "w_out.weight")


def register_init(name: str):
    def add(fn):
        INITS[name] = fn
        return fn
    return add


def apply_init(model: nn.Module, scheme: str, n_layer: int, n_residuals: int = 1, head: nn.Module | None = None):
    """Initialise `model` by `scheme` (one of INITS). n_layer: residual blocks; n_residuals: residual branches
    per block (2 with an MLP); head: the classifier the vision schemes treat on its own."""
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; choose one of {', '.join(INITS)}")
    with torch.no_grad():
        INITS[scheme](model, n_layer=n_layer, n_residuals=n_residuals, head=head)


def _zero_bias(linear: nn.Linear):
    if linear.bias is not None and not getattr(linear.bias, "_no_reinit", False):
        nn.init.zeros_(linear.bias)


@register_init("torch")
def _torch(model, **_):
    pass


@register_init("mamba")
def _mamba(model, n_layer: int, n_residuals: int = 1, **_):
    for module in model.modules():
        if isinstance(module, nn.Linear):
            _zero_bias(module)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
    scale = math.sqrt(n_residuals * n_layer)
    for name, p in model.named_parameters():
        if name.endswith(RESIDUAL_OUTPUTS):
            nn.init.kaiming_uniform_(p, a=math.sqrt(5))
            p /= scale


def lecun_normal_(weight: torch.Tensor):
    """Normal with variance 1 / fan_in, truncated at two standard deviations (LeCun's rule, as timm draws it)."""
    # 0.8796 is the std of a unit normal truncated at +-2: dividing by it restores the intended variance
    std = math.sqrt(1.0 / weight[0].numel()) / 0.87962566103423978
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def _trunc_linear(module):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            _zero_bias(m)


@register_init("vim")
def _vim(model, n_layer: int, n_residuals: int = 1, head=None, **_):
    _mamba(model, n_layer=n_layer, n_residuals=n_residuals)
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.groups == 1:  # the patch stem, not a depthwise conv
            lecun_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    if head is not None:
        _trunc_linear(head)


@register_init("trunc_normal")
def _trunc_normal(model, **_):
    _trunc_linear(model)
    for m in model.modules():
        if isinstance(m, (nn.LayerNorm, LayerNorm, RMSNorm)):
            nn.init.ones_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
