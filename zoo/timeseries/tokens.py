"""Forecasters over tokens made from the look-back window, with any backbone of the zoo's mixers.

Variate tokens (iTransformer, S-Mamba): each variable's whole look-back is one token, and the mixer runs
across variables. Patch tokens (PatchTST, Bi-Mamba+): each variable's look-back is cut into overlapping
patches, and the mixer runs along one variable's patches (channel independence: every variable is its own
sequence, with shared weights). The two builders differ only in the tokens and the head; the backbone
settings (pattern, mixers, directions, mlp, norm) are the zoo's shared axes.
"""
from __future__ import annotations

import torch
from torch import nn

from ..backbone import Backbone
from ..registry import Example, register_builder
from .revin import instance_norm

TOKEN_AXES = ("patches", "variables")


def _backbone(d_model, pattern, mixers, directions, share_params, merge, mlp, mlp_ratio, norm, dropout, post_norm):
    return Backbone(d_model, pattern=pattern, mixers=mixers, mlp=mlp, mlp_ratio=mlp_ratio, norm=norm,
                    dropout=dropout, directions=directions, share_params=share_params, merge=merge,
                    post_norm=post_norm)


def _example() -> Example:
    return Example(dict(lookback=48, horizon=24, n_vars=5), dict(d_model=16), lambda g: (torch.randn(2, 48, 5, generator=g),))


@register_builder("variate_forecaster", example=_example)
class VariateForecaster(nn.Module):
    """x (batch, lookback, variables) -> (batch, horizon, variables): Linear(lookback -> d_model) per
    variable, the backbone across the variables' tokens, Linear(d_model -> horizon) per token."""

    def __init__(self, lookback: int, horizon: int, n_vars: int, d_model: int = 64, pattern: str = "MM",
                 mixers: dict | None = None, directions: str = "bidirectional", share_params: bool = False,
                 merge: str = "sum", mlp: str | None = "gelu", mlp_ratio: float = 2.0, norm: str = "layernorm",
                 dropout: float = 0.1, revin: bool = True, post_norm: bool = False):
        super().__init__()
        self.revin = instance_norm(revin, n_vars)
        self.embed = nn.Linear(lookback, d_model)
        self.dropout = nn.Dropout(dropout)
        self.backbone = _backbone(d_model, pattern, mixers, directions, share_params, merge, mlp, mlp_ratio, norm,
                                  dropout, post_norm)
        self.head = nn.Linear(d_model, horizon)

    def forward(self, x):
        tokens = self.dropout(self.embed(self.revin.norm(x).transpose(1, 2)))   # (batch, variables, d_model)
        return self.revin.denorm(self.head(self.backbone(tokens)).transpose(1, 2))


def _example_patches() -> Example:
    return Example(dict(lookback=48, horizon=24, n_vars=5), dict(d_model=16, patch_len=8, stride=4), lambda g: (torch.randn(2, 48, 5, generator=g),))


@register_builder("patch_forecaster", example=_example_patches)
class PatchForecaster(nn.Module):
    """x (batch, lookback, variables) -> (batch, horizon, variables): each variable's look-back, padded at the
    end with `stride` copies of its last value, cut into patches of `patch_len` every `stride` steps;
    Linear(patch_len -> d_model), plus a learned embedding of the patch position if `position`; the backbone;
    each variable's flattened patch outputs -> Linear -> horizon.

    token_axis: 'patches' scans each variable's patches on their own (channel independence); 'variables'
    scans across the variables at each patch position (channel mixing, Bi-Mamba+'s other tokenisation;
    `sra_decision` picks between them from the training data's rank correlations).
    """

    def __init__(self, lookback: int, horizon: int, n_vars: int, patch_len: int = 16, stride: int = 8,
                 d_model: int = 64, pattern: str = "AA", mixers: dict | None = None, directions: str = "forward",
                 share_params: bool = False, merge: str = "sum", mlp: str | None = "gelu", mlp_ratio: float = 2.0,
                 norm: str = "layernorm", dropout: float = 0.1, revin: bool = True, position: bool = True,
                 token_axis: str = "patches", post_norm: bool = False):
        super().__init__()
        if not 1 <= patch_len <= lookback or stride < 1:
            raise ValueError(f"patch_len={patch_len}, stride={stride}: need 1 <= patch_len <= lookback={lookback} "
                             f"and stride >= 1")
        if token_axis not in TOKEN_AXES:
            raise ValueError(f"token_axis={token_axis!r} is not one of {', '.join(TOKEN_AXES)}")
        self.patch_len, self.stride, self.token_axis = patch_len, stride, token_axis
        self.n_patches = (lookback + stride - patch_len) // stride + 1
        self.revin = instance_norm(revin, n_vars)
        self.embed = nn.Linear(patch_len, d_model)
        self.position = nn.Parameter(0.02 * torch.randn(self.n_patches, d_model)) if position else None
        self.dropout = nn.Dropout(dropout)
        self.backbone = _backbone(d_model, pattern, mixers, directions, share_params, merge, mlp, mlp_ratio, norm,
                                  dropout, post_norm)
        self.head = nn.Linear(self.n_patches * d_model, horizon)

    def patches(self, x):
        """x (batch, lookback, variables) -> (batch * variables, n_patches, patch_len)."""
        series = x.transpose(1, 2).flatten(0, 1)                                 # (batch * variables, lookback)
        series = torch.cat([series, series[:, -1:].expand(-1, self.stride)], dim=1)
        return series.unfold(1, self.patch_len, self.stride)

    def forward(self, x):
        batch, _, n_vars = x.shape
        tokens = self.embed(self.patches(self.revin.norm(x)))         # (batch * variables, patches, d_model)
        if self.position is not None:
            tokens = tokens + self.position
        tokens = self.dropout(tokens)
        if self.token_axis == "variables":
            across = tokens.unflatten(0, (batch, n_vars)).transpose(1, 2).flatten(0, 1)  # (b * patches, vars, d)
            tokens = self.backbone(across).unflatten(0, (batch, self.n_patches)).transpose(1, 2).flatten(0, 1)
        else:
            tokens = self.backbone(tokens)
        out = self.head(tokens.flatten(1))                                   # (batch * variables, horizon)
        return self.revin.denorm(out.view(batch, n_vars, -1).transpose(1, 2))
