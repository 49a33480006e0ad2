"""A mixer run along several orders of the same tokens, its outputs merged (the survey's multi-direction
scanning: Vim's forward + backward, S-Mamba's bidirectional pass over variates).

The orders come from `zoo.scan`; this module applies each order's permutation before its mixer and the
inverse after it, so no mixer ever reorders tokens itself.
"""
from __future__ import annotations

from torch import nn

from ..scan import bidirectional, sweep

DIRECTIONS = {"forward": lambda n: [sweep(1, n)], "bidirectional": lambda n: bidirectional(sweep(1, n))}
MERGES = ("sum", "mean")


def check_directions(directions: str, merge: str):
    if directions not in DIRECTIONS:
        raise ValueError(f"directions={directions!r} is not one of {', '.join(DIRECTIONS)}")
    if merge not in MERGES:
        raise ValueError(f"merge={merge!r} is not one of {', '.join(MERGES)}")


class Directional(nn.Module):
    """(batch, seqlen, d_model) -> same: sum (or mean) over the orders of `mixer_k(x[:, perm_k])[:, inv_k]`.
    `build()` makes one mixer; each order gets its own, or all share one with `share_params`."""

    def __init__(self, build, directions: str = "bidirectional", share_params: bool = False, merge: str = "sum"):
        super().__init__()
        check_directions(directions, merge)
        self.directions, self.merge = directions, merge
        n_orders = len(DIRECTIONS[directions](1))
        self.mixers = nn.ModuleList(build() for _ in range(1 if share_params else n_orders))

    def forward(self, x):
        orders = DIRECTIONS[self.directions](x.shape[1])
        out = None
        for k, (perm, inv) in enumerate(orders):
            mixer = self.mixers[k % len(self.mixers)]
            y = mixer(x[:, perm.to(x.device)])[:, inv.to(x.device)]
            out = y if out is None else out + y
        return out / len(orders) if self.merge == "mean" else out

    def step(self, x_t, state):
        raise NotImplementedError(f"a {self.directions} scan reads the whole sequence; it cannot decode token by token")

    def init_state(self, batch, device=None, dtype=None):
        raise NotImplementedError(f"a {self.directions} scan has no recurrent decoding state")

    def state_size(self, seqlen: int | None = None) -> int:
        return sum(m.state_size(seqlen) for m in self.mixers)
