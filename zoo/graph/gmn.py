"""GMN's global module (Behrouz & Hashemi 2024, Graph Mamba): each node is first read as a short sequence of
random-walk neighbourhoods, then the nodes are scanned in degree order.

For node v and each hop count k = hops .. 0, `walks` random walks of k steps start at v; token k is the mean
of the current states of the nodes they visit (k = 0: v itself). A bidirectional Mamba reads the tokens, the
widest neighbourhood first and v itself last, and its last steps give v's encoding; Graph-Mamba's ordered module
(zoo.graph.ordered) then scans those encodings. The paper encodes each token's induced subgraph with an MPNN
or random-walk features; the mean over the visited nodes is our simpler encoder. Walks are sampled for the
whole batch at once, one step at a time (no loop over nodes or graphs).
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import build_mixer
from .ordered import OrderedMamba


def random_walks(edge_index: torch.Tensor, num_nodes: int, starts: torch.Tensor, steps: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """(len(starts), steps + 1) node ids of one uniform random walk from each start; a node with no
    neighbours stays where it is."""
    src, dst = edge_index
    order = torch.argsort(src, stable=True)
    src, dst = src[order], dst[order]
    degree = torch.bincount(src, minlength=num_nodes)
    first = torch.cumsum(degree, 0) - degree
    path = [starts]
    for _ in range(steps):
        here = path[-1]
        pick = torch.rand(here.shape[0], generator=generator, device=generator.device if generator else None)
        offset = (pick.to(here.device) * degree[here]).long().clamp_max((degree[here] - 1).clamp_min(0))
        step = dst[(first[here] + offset).clamp_max(max(dst.numel() - 1, 0))] if dst.numel() else here
        path.append(torch.where(degree[here] > 0, step, here))
    return torch.stack(path, 1)


class WalkTokens(nn.Module):
    """(N, d) node states -> (N, d): each node's walk-token sequence read by a bidirectional Mamba; the
    encoding is the sum of each direction's output at its last step (forward: at the node itself; backward:
    at the widest neighbourhood), so both directions have read every token."""

    def __init__(self, d_model: int, hops: int, walks: int, mixer: str, **mixer_kwargs):
        super().__init__()
        if int(hops) < 1 or int(walks) < 1:
            raise ValueError(f"gmn needs hops >= 1 and walks >= 1, got hops={hops}, walks={walks}")
        self.hops, self.walks = int(hops), int(walks)
        self.read = nn.ModuleList(build_mixer(mixer, d_model, **mixer_kwargs) for _ in range(2))

    def forward(self, x, edge_index, generator=None):
        n = x.shape[0]
        starts = torch.arange(n, device=x.device).repeat(self.walks)
        tokens = []
        for k in range(self.hops, 0, -1):  # widest neighbourhood first, the node itself last
            visited = random_walks(edge_index, n, starts, k, generator)          # (walks * n, k + 1)
            tokens.append(x[visited].view(self.walks, n, k + 1, -1).mean((0, 2)))
        tokens = torch.stack(tokens + [x], 1)
        return self.read[0](tokens)[:, -1] + self.read[1](tokens.flip(1))[:, -1]


class GMNGlobal(nn.Module):
    """WalkTokens, then the ordered bidirectional scan over the nodes (degree order by default)."""

    def __init__(self, d_model: int, hops: int, walks: int, order: str, directions: str, merge: str,
                 mixer: str = "mamba1", **mixer_kwargs):
        super().__init__()
        self.tokens = WalkTokens(d_model, hops, walks, mixer, **mixer_kwargs)
        self.nodes = OrderedMamba(d_model, order, directions, merge, mixer, **mixer_kwargs)

    def forward(self, x, edge_index, batch, graphs: int, generator=None):
        return self.nodes(self.tokens(x, edge_index, generator), edge_index, batch, graphs, generator)
