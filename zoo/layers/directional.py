"""A mixer run along several orders of the same tokens, its outputs merged (the survey's multi-direction
scanning: Vim's forward + backward, S-Mamba's bidirectional pass over variates, a grid walked four ways).

The orders come from a `zoo.scan.Scan`; this module applies each order's permutation before its mixer and
the inverse after it, so no mixer ever reorders tokens itself.
"""
from __future__ import annotations

import torch
from torch import nn

from ..scan import Scan
from .merge import POOLED, DirectionMerge


class Directional(nn.Module):
    """(batch, seqlen, d_model) -> same: the merge over the scan's orders of `mixer_k(x[:, perm_k])[:, inv_k]`.
    `build()` makes one mixer; each order gets its own, or all share one with `share_params`."""

    def __init__(self, build, scan: Scan, d_model: int, share_params: bool = False, merge: str = "sum"):
        super().__init__()
        self.scan = scan
        self.merge = DirectionMerge(merge, scan.count, d_model)
        self.mixers = nn.ModuleList(build() for _ in range(1 if share_params else scan.count))

    def forward(self, x, mask=None):
        """mask (batch, seqlen), False at padding, travels with the tokens into each order."""
        if mask is not None and self.merge.merge in POOLED:
            raise ValueError(f"merge={self.merge.merge!r} pools over every token, padding included; "
                             f"a padded batch needs one of the per-token merges (sum, mean, concat)")

        def run(mixer, perm):
            if mask is None:
                return mixer(x.index_select(1, perm))
            return mixer(x.index_select(1, perm), mask=mask.index_select(1, perm))
        ys = [run(self.mixers[k % len(self.mixers)], perm).index_select(1, inv)
              for k, (perm, inv) in enumerate(self.scan(x.shape[1], x.device))]
        return self.merge(torch.stack(ys, 1), x)

    def step(self, x_t, state):
        raise NotImplementedError("a multi-direction scan reads the whole sequence; it cannot decode token by token")

    def init_state(self, batch, device=None, dtype=None):
        raise NotImplementedError("a multi-direction scan has no recurrent decoding state")

    def state_size(self, seqlen: int | None = None) -> int:
        # every direction carries its own state, whether or not it shares its parameters
        return self.scan.count * self.mixers[0].state_size(seqlen)
