"""A point-cloud classifier over any backbone pattern: the patch tokens of Point-BERT / Point-MAE / PointMamba
(zoo.point_cloud.patches), put in an order, read by the shared Backbone, pooled into a classification head.

Orders (`order`, one name per token sequence; the sequences are concatenated, as PointMamba concatenates its
Hilbert and Trans-Hilbert sequences):
- a 3-D curve of zoo.scan.space ("hilbert", "trans_hilbert", "zorder", "trans_zorder") over the patch centres
  quantised to a 2^grid_bits cube;
- "fps": the order farthest point sampling drew the centres in (an attention model without positional
  biases does not see an order: Point-MAE's);
- "random": a fresh random order of the centres for every cloud (PointMamba's ablation of the curve); in
  evaluation drawn from a generator seeded with 0 at every call, so a test is repeatable.

`order_indicator`: PointMamba's learnable per-order scale and shift of the tokens (drawn near 1 and 0, as
its init_OrderScale draws them), so the backbone can tell the concatenated sequences apart. `pos_every_block`: the centres' position embedding
added before every block, as Point-MAE's TransformerEncoder does (`x = block(x + pos)`), or once before the
first. `pool`: "mean" over the tokens (PointMamba), or "cls_max" (Point-MAE: a learned class token in front,
its output concatenated with the max over the other tokens). The head is Point-MAE's: two hidden layers with
batch norm, ReLU and dropout.
"""
from __future__ import annotations

import torch
from torch import nn

from ..backbone import Backbone, residual_stream
from ..layers.init import no_weight_decay
from ..layers.weights import apply_init
from ..registry import Example, register_builder
from ..scan.space import POINT_ORDERS, MAX_BITS, point_order, quantise
from .patches import MiniPointNet, group

ORDERS = (*POINT_ORDERS, "fps", "random")
POOLS = ("mean", "cls_max")


def _example() -> Example:
    return Example(dict(n_classes=5, n_points=128),
                   dict(d_model=16, n_groups=8, group_size=8, encoder_dims=[8, 16], pos_hidden=8, head_dims=[16, 16]),
                   lambda g: (torch.rand(2, 128, 3, generator=g),))


def _names(order) -> list[str]:
    names = [order] if isinstance(order, str) else list(order)
    if not names or any(n not in ORDERS for n in names):
        raise ValueError(f"order={order!r}: give one or more of {', '.join(ORDERS)}")
    return names


def _dims(name: str, value, count: int) -> list[int]:
    dims = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") else None
    if dims is None or len(dims) != count or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"{name}={value!r}: give {count} positive integers")
    return dims


@register_builder("point_classifier", example=_example)
class PointClassifier(nn.Module):
    """points (batch, n_points, 3) -> logits (batch, n_classes)."""

    def __init__(self, n_classes: int, n_points: int, d_model: int = 64, pattern: str = "MMMM",
                 mixers: dict | None = None, mlp: str | None = None, mlp_ratio: float = 4.0, norm: str = "rmsnorm",
                 dropout: float = 0.0, directions: str = "forward", n_groups: int = 64, group_size: int = 32,
                 encoder_dims: list | None = None, pos_hidden: int = 128, order="hilbert", grid_bits: int = 8,
                 order_indicator: bool = False, pos_every_block: bool = False, pool: str = "mean",
                 head_dims: list | None = None, head_dropout: float = 0.5, init: str = "mamba"):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if not 1 <= n_groups <= n_points or not 1 <= group_size <= n_points:
            raise ValueError(f"n_groups={n_groups} and group_size={group_size} must lie between 1 and the "
                             f"{n_points} points of a cloud")
        if not 1 <= grid_bits <= MAX_BITS:
            raise ValueError(f"grid_bits={grid_bits}: give an integer from 1 to {MAX_BITS}")
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r} is not one of {', '.join(POOLS)}")
        self.orders, self.n_points, self.n_groups, self.group_size = _names(order), n_points, n_groups, group_size
        self.grid_bits, self.pool, self.pos_every_block = grid_bits, pool, pos_every_block
        c1, c2 = _dims("encoder_dims", encoder_dims if encoder_dims is not None else [128, 256], 2)
        hidden = _dims("head_dims", head_dims if head_dims is not None else [256, 256], 2)
        self.encoder = MiniPointNet(d_model, c1, c2)
        # Point-MAE's pos_embed: the centre's coordinates through Linear, GELU, Linear
        self.pos_embed = nn.Sequential(nn.Linear(3, pos_hidden), nn.GELU(), nn.Linear(pos_hidden, d_model))
        k = len(self.orders)
        self.order_scale = nn.Parameter(torch.ones(k, d_model)) if order_indicator else None
        self.order_shift = nn.Parameter(torch.zeros(k, d_model)) if order_indicator else None
        if pool == "cls_max":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
            self.cls_pos = nn.Parameter(torch.zeros(1, 1, d_model))
        self.backbone = Backbone(d_model, pattern=pattern, mixers=mixers, mlp=mlp, mlp_ratio=mlp_ratio, norm=norm,
                                 dropout=dropout, directions=directions)
        width = 2 * d_model if pool == "cls_max" else d_model
        self.head = nn.Sequential(
            nn.Linear(width, hidden[0]), nn.BatchNorm1d(hidden[0]), nn.ReLU(inplace=True), nn.Dropout(head_dropout),
            nn.Linear(hidden[0], hidden[1]), nn.BatchNorm1d(hidden[1]), nn.ReLU(inplace=True),
            nn.Dropout(head_dropout), nn.Linear(hidden[1], n_classes))
        apply_init(self, init, n_layer=len(pattern), n_residuals=2 if mlp else 1)
        if pool == "cls_max":  # Point-MAE draws both trunc-normal(0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            nn.init.trunc_normal_(self.cls_pos, std=0.02)
            no_weight_decay(self.cls_token, self.cls_pos)
        if order_indicator:  # PointMamba's init_OrderScale: gamma ~ N(1, 0.02), beta ~ N(0, 0.02)
            nn.init.normal_(self.order_scale, mean=1.0, std=0.02)
            nn.init.normal_(self.order_shift, std=0.02)
            no_weight_decay(self.order_scale, self.order_shift)

    def _order(self, name: str, centres: torch.Tensor) -> torch.Tensor:
        """perm (batch, G) of the centres (batch, G, 3) in the order `name`."""
        if name == "fps":
            return torch.arange(centres.shape[1], device=centres.device).expand(len(centres), -1)
        if name == "random":
            g = None if self.training else torch.Generator().manual_seed(0)
            keys = torch.rand(centres.shape[:2], generator=g)
            return keys.argsort(-1).to(centres.device)
        return point_order(name, quantise(centres, self.grid_bits), self.grid_bits)[0]

    def tokens(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The backbone's input (batch, L, d) and the position embedding beside it, both in the orders."""
        if points.dim() != 3 or points.shape[1:] != (self.n_points, 3):
            raise ValueError(f"points has shape {tuple(points.shape)}, expected (batch, {self.n_points}, 3)")
        patches, centres = group(points, self.n_groups, self.group_size)
        x, pos = self.encoder(patches), self.pos_embed(centres)
        xs, ps = [], []
        for k, name in enumerate(self.orders):
            perm = self._order(name, centres)[..., None]
            xk = x.gather(1, perm.expand_as(x))
            if self.order_scale is not None:
                xk = xk * self.order_scale[k] + self.order_shift[k]
            xs.append(xk)
            ps.append(pos.gather(1, perm.expand_as(pos)))
        x, pos = torch.cat(xs, 1), torch.cat(ps, 1)
        if self.pool == "cls_max":
            x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], 1)
            pos = torch.cat([self.cls_pos.expand(len(pos), -1, -1), pos], 1)
        return x, pos

    def forward(self, points):
        x, pos = self.tokens(points)
        if self.pos_every_block:  # the Backbone's own forward, with the positions added before each block
            h = residual_stream(x)
            for block in self.backbone.blocks:
                h = block(h + pos)
            h = h if self.backbone.final_norm is None else self.backbone.final_norm(h)
        else:
            h = self.backbone(x + pos)
        pooled = h.mean(1) if self.pool == "mean" else torch.cat([h[:, 0], h[:, 1:].amax(1)], -1)
        if self.training and len(pooled) == 1:
            # the head's batch norm has no statistics over one cloud (torch refuses it): that cloud is read with
            # the running ones, as in evaluation (the reference loaders drop such a last batch instead)
            self.head.eval()
            try:
                return self.head(pooled.float())
            finally:
                self.head.train()
        return self.head(pooled.float())

    def state_size(self, seqlen: int | None = None) -> int:
        return self.backbone.state_size(seqlen)
