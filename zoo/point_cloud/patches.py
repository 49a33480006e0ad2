"""Point patches, as Point-BERT, Point-MAE and PointMamba cut a cloud into tokens: farthest point sampling
(FPS) picks the patch centres, k nearest neighbours (kNN) their points, and a mini-PointNet embeds each patch.

FPS and kNN are written here in plain, batched torch (torch_cluster, which PyG's `fps` and `knn` need, is not
a dependency): FPS is one pass per centre over all points of every cloud at once, kNN one distance matrix.
Both only pick indices, so they run without gradients and in float32 whatever autocast says.
"""
from __future__ import annotations

import torch
from torch import nn


def farthest_points(points: torch.Tensor, n: int) -> torch.Tensor:
    """Indices (batch, n) of n points of each cloud (batch, N, 3), each the farthest (Euclidean) from those
    picked before it. The first is point 0, as in the CUDA kernel Point-MAE and PointMamba call
    (pointnet2_ops furthest_point_sample), so the centres, and the model's output, depend on the input order
    through that first point only."""
    batch, count, _ = points.shape
    if not 1 <= n <= count:
        raise ValueError(f"farthest point sampling of {n} centres from clouds of {count} points: "
                         f"give between 1 and {count}")
    with torch.no_grad(), torch.autocast(points.device.type, enabled=False):
        p = points.float()
        rows = torch.arange(batch, device=p.device)
        picked = torch.zeros(batch, n, dtype=torch.long, device=p.device)
        nearest = torch.full((batch, count), float("inf"), device=p.device)
        last = torch.zeros(batch, dtype=torch.long, device=p.device)
        for i in range(n):
            picked[:, i] = last
            nearest = torch.minimum(nearest, ((p - p[rows, last][:, None]) ** 2).sum(-1))
            last = nearest.argmax(-1)
    return picked


def nearest_neighbours(centres: torch.Tensor, points: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (batch, G, k) of each centre's k nearest points (a centre is its own nearest), nearest first."""
    count = points.shape[1]
    if not 1 <= k <= count:
        raise ValueError(f"k={k} nearest neighbours in clouds of {count} points: give between 1 and {count}")
    with torch.no_grad(), torch.autocast(points.device.type, enabled=False):
        # squared distances summed one axis at a time: exact (cdist's matrix-product shortcut rounds near ties)
        # without the (batch, G, N, 3) tensor of all differences
        c, p = centres.float(), points.float()
        distance = sum((c[:, :, None, i] - p[:, None, :, i]) ** 2 for i in range(3))
        return distance.topk(k, dim=-1, largest=False, sorted=True).indices


def group(points: torch.Tensor, n_groups: int, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clouds (batch, N, 3) -> (patches (batch, G, k, 3) relative to their centres, centres (batch, G, 3)):
    Point-MAE's Group module (FPS, then kNN, then each neighbourhood minus its centre)."""
    rows = torch.arange(len(points), device=points.device)
    centres = points[rows[:, None], farthest_points(points, n_groups)]
    neighbours = nearest_neighbours(centres, points, group_size)
    return points[rows[:, None, None], neighbours] - centres[:, :, None], centres


class MiniPointNet(nn.Module):
    """A patch (k, 3) -> one token (d_model): Point-MAE's Encoder. A shared MLP (3 -> c1 -> c2) on every point,
    max-pooled into the patch's feature, which is appended to every point's (2 * c2), then a second shared MLP
    (2 * c2 -> 2 * c2 -> d_model) and a max pool again. Point-MAE: c1 = 128, c2 = 256, d_model = 384; its
    1x1 convolutions are the linear layers here (the same weights), with batch norm after the first layer of
    each MLP."""

    def __init__(self, d_model: int, c1: int = 128, c2: int = 256):
        super().__init__()
        self.first = nn.Sequential(nn.Linear(3, c1), _PointNorm(c1), nn.ReLU(inplace=True), nn.Linear(c1, c2))
        self.second = nn.Sequential(nn.Linear(2 * c2, 2 * c2), _PointNorm(2 * c2), nn.ReLU(inplace=True),
                                    nn.Linear(2 * c2, d_model))

    def forward(self, patches):
        f = self.first(patches)                                   # (batch, G, k, c2)
        pooled = f.amax(-2, keepdim=True).expand_as(f)
        return self.second(torch.cat([pooled, f], -1)).amax(-2)  # (batch, G, d_model)


class _PointNorm(nn.BatchNorm1d):
    """Batch norm over every point of every patch, per channel: Point-MAE's BatchNorm1d on (B*G, C, k)."""

    def forward(self, x):
        return super().forward(x.reshape(-1, x.shape[-1])).view_as(x)
