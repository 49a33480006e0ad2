"""A residual stack of mixer blocks laid out by a pattern string, e.g. "MMMAMMMM" (Jamba's 1:7 hybrid).

Each character of the pattern is one block: x = x + mixer(norm(x)), then, with an MLP,
x = x + mlp(norm(x)). The stack decodes token by token with the same init_state / step /
state_size interface as a single mixer.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .layers import MIXERS, MLPS, build_mixer, build_norm, check_mixer_kwargs, mixer_code
from .layers.directional import Directional
from .layers.merge import check_merge
from .scan import line_scan
from .layers.mlp import hidden_size


def residual_stream(x):
    """The residual stream in float32 where autocast made its input half precision: the reference codes keep
    it so (residual_in_fp32), and summing many small updates in bfloat16 loses them. A model whose own
    weights are half precision keeps its stream in their precision."""
    low = x.dtype in (torch.float16, torch.bfloat16)
    return x.float() if low and torch.is_autocast_enabled(x.device.type) else x


class Block(nn.Module):
    """A residual block: a mixer, then optionally an MLP. Pre-norm, x + f(norm(x)), or with `post_norm`
    norm(x + f(x)) as the Transformer encoder (iTransformer, S-Mamba)."""

    def __init__(self, d_model: int, mixer: nn.Module, mlp: nn.Module | None, norm: str, dropout: float,
                 post_norm: bool = False):
        super().__init__()
        self.norm = build_norm(norm, d_model)
        self.mixer = mixer
        self.mlp_norm = build_norm(norm, d_model) if mlp is not None else None
        self.mlp = mlp
        self.dropout = nn.Dropout(dropout)
        self.post_norm = post_norm

    def _residual(self, x, f, norm):
        if self.post_norm:
            return norm(x + self.dropout(f(x)).to(x.dtype))
        return x + self.dropout(f(norm(x))).to(x.dtype)

    def _add_mlp(self, x):
        return x if self.mlp is None else self._residual(x, self.mlp, self.mlp_norm)

    def forward(self, x, with_state=False, mask=None):
        if with_state and mask is not None:
            raise ValueError("with_state needs an unpadded batch: a padded row's conv window would end in padding")
        state = None

        def mix(h):
            nonlocal state
            if not with_state:
                return self.mixer(h) if mask is None else self.mixer(h, mask=mask)
            y, state = self.mixer(h, with_state=True)
            return y
        x = self._add_mlp(self._residual(x, mix, self.norm))
        return (x, state) if with_state else x

    def step(self, x_t, state):
        new = None

        def mix(h):
            nonlocal new
            y, new = self.mixer.step(h, state)
            return y
        return self._add_mlp(self._residual(x_t, mix, self.norm)), new


class Backbone(nn.Module):
    """(batch, seqlen, d_model) -> (batch, seqlen, d_model).

    pattern: one mixer code per block ('M' mamba1, '2' mamba2, 'A' attention, 'S' s4d).
    mixers: {code or name: kwargs} applied to every block of that kind.
    mlp: None or 'swiglu', with hidden size mlp_ratio * d_model rounded up to a multiple of 8.
    norm: 'rmsnorm' or 'layernorm' (computed in float32); final_norm adds one after the last block.
    directions: 'forward', or 'bidirectional' (each block's mixer also runs over the reversed sequence, with
    its own parameters unless share_params, the two outputs merged by 'sum', 'mean', 'concat' or 'gate', see
    zoo.layers.merge); only a forward
    backbone decodes token by token.
    shared: mixer codes whose blocks all apply one mixer, one set of weights (Zamba's shared attention: "A"
    with pattern "MMMAMMMA"); each block keeps its own norms and its own decoding state.
    post_norm: norm(x + f(x)) in every block instead of x + f(norm(x)) (see Block).
    """

    def __init__(self, d_model: int, pattern: str = "MM", mixers: dict | None = None, mlp: str | None = None,
                 mlp_ratio: float = 8 / 3, norm: str = "rmsnorm", dropout: float = 0.0, final_norm: bool = True,
                 directions: str = "forward", share_params: bool = False, merge: str = "sum", shared: str = "",
                 post_norm: bool = False):
        super().__init__()
        _check_pattern(pattern)
        _check_shared(shared, pattern)
        kwargs = _mixer_kwargs(mixers)
        if mlp is not None and mlp not in MLPS:
            raise ValueError(f"unknown mlp {mlp!r}; choose one of {', '.join(MLPS)} or None")
        build_norm(norm, 1)  # an unknown norm fails here, before any block is built
        scan = line_scan(directions)
        check_merge(merge)
        self.d_model, self.pattern = d_model, pattern

        made = {}

        def mixer(code):
            build = lambda: build_mixer(code, d_model, **kwargs.get(code, {}))  # noqa: E731
            if code in made:
                return made[code]
            built = build() if directions == "forward" else Directional(build, scan, d_model, share_params, merge)
            if code in shared:
                made[code] = built
            return built

        self.blocks = nn.ModuleList(
            Block(d_model, mixer(code),
                  MLPS[mlp](d_model, hidden=hidden_size(d_model, mlp_ratio)) if mlp is not None else None,
                  norm, dropout, post_norm)
            for code in pattern)
        self.final_norm = build_norm(norm, d_model) if final_norm else None

    def forward(self, x, mask=None):
        """mask (batch, seqlen), False at padding: every mixer reads the sequence as if the padding were not
        there (the scans leave their state unchanged through it, attention never attends to it)."""
        x = residual_stream(x)
        for block in self.blocks:
            x = block(x, mask=mask)
        return x if self.final_norm is None else self.final_norm(x)

    def prefill(self, x):
        """x (batch, seqlen, d_model) -> (forward(x), the decoding state after its last token), in one
        parallel pass: the scans return their last state, attention its KV cache."""
        x, states = residual_stream(x), []
        for block in self.blocks:
            x, state = block(x, with_state=True)
            states.append(state)
        return (x if self.final_norm is None else self.final_norm(x)), tuple(states)

    def init_state(self, batch, device=None, dtype=None):
        """One decoding state per block, in pattern order."""
        return tuple(block.mixer.init_state(batch, device, dtype) for block in self.blocks)

    def step(self, x_t, state):
        """x_t (batch, d_model) -> (y_t (batch, d_model), new state); `state` is left as it was."""
        new_state = []
        for block, block_state in zip(self.blocks, state):
            x_t, block_state = block.step(x_t, block_state)
            new_state.append(block_state)
        y = x_t if self.final_norm is None else self.final_norm(x_t)
        return y, tuple(new_state)

    def state_size(self, seqlen: int | None = None) -> int:
        """Floats carried per sequence while decoding; attention blocks need seqlen (their cache grows)."""
        return sum(block.mixer.state_size(seqlen) for block in self.blocks)


def _check_pattern(pattern):
    valid = ", ".join(repr(c) for c in MIXERS)
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern must be a non-empty string of mixer codes ({valid}), got {pattern!r}")
    for position, char in enumerate(pattern):
        if char not in MIXERS:
            raise ValueError(f"pattern {pattern!r} has {char!r} at position {position}, which is no mixer code; "
                             f"valid codes: {valid}")


def _check_shared(shared, pattern):
    if not isinstance(shared, str):
        raise ValueError(f"shared must be a string of mixer codes, got {shared!r}")
    absent = [c for c in shared if c not in pattern]
    if absent:
        raise ValueError(f"shared={shared!r} names {absent[0]!r}, which pattern {pattern!r} does not use")


def _mixer_kwargs(mixers: dict | None) -> dict:
    """{code or name: kwargs} -> {code: kwargs}, checked against each mixer's signature."""
    by_code: dict = {}
    for key, kwargs in (mixers or {}).items():
        code = mixer_code(key)
        if code in by_code:
            raise ValueError(f"mixers sets options for {MIXERS[code].__name__} twice (as {key!r} and its code/name)")
        kwargs = dict(kwargs or {})
        check_mixer_kwargs(code, kwargs)
        by_code[code] = kwargs
    return by_code
