"""The vision Mamba builder: a patch grid scanned in the orders a config names (the survey's scanning
taxonomy), plain (Vim, PlainMamba) or in stages with patch merging (VMamba), and a classification head."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..backbone import Block, _check_pattern, _mixer_kwargs, residual_stream
from ..layers import MLPS, build_mixer, build_norm
from ..layers.directional import Directional
from ..layers.init import no_weight_decay
from ..layers.merge import check_merge
from ..layers.mlp import hidden_size
from ..layers.multiscan import MultiScanMamba
from ..layers.weights import apply_init
from ..registry import Example, register_builder
from ..scan import image_scan

CLS_PLACES = ("none", "head", "middle", "tail")


def grid_size(image_size, patch_size: int) -> tuple[int, int]:
    """The patch grid (H, W) of an image_size (int or [height, width]) cut into patch_size squares."""
    height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if patch_size < 1 or height % patch_size or width % patch_size:
        raise ValueError(f"image size {height}x{width} is not divisible by patch_size={patch_size}")
    return height // patch_size, width // patch_size


def cls_index(cls_token, n_patches: int) -> int | None:
    """Where the class token sits among n_patches + 1 tokens: 'head' 0, 'middle' n // 2 (Vim), 'tail' n, or
    an explicit index; 'none': no class token (the head averages the tokens)."""
    places = {"none": None, "head": 0, "middle": n_patches // 2, "tail": n_patches}
    if isinstance(cls_token, bool) or not isinstance(cls_token, (str, int)):
        raise ValueError(f"cls_token={cls_token!r}: give one of {', '.join(CLS_PLACES)} or a position")
    if isinstance(cls_token, str):
        if cls_token not in places:
            raise ValueError(f"cls_token={cls_token!r} is not one of {', '.join(CLS_PLACES)} (or a position)")
        return places[cls_token]
    if not 0 <= cls_token <= n_patches:
        raise ValueError(f"cls_token={cls_token} is outside the sequence of {n_patches + 1} tokens (0..{n_patches})")
    return cls_token


def patch_stem(in_channels: int, d_model: int, patch_size: int, convs: int | None) -> nn.Module:
    """Images -> (batch, d_model, H/patch_size, W/patch_size): one patchifying conv, or PlainMamba's conv stack."""
    if convs is None:
        return nn.Conv2d(in_channels, d_model, patch_size, stride=patch_size)
    if convs < 0 or patch_size % 2:
        raise ValueError(f"conv_stem={convs} needs 0 or more convs and an even patch_size, got {patch_size}")
    act = lambda c_in, k, s: [nn.Conv2d(c_in, 64, k, stride=s, padding=k // 2, bias=False),  # noqa: E731
                              nn.BatchNorm2d(64), nn.ReLU()]
    layers = act(in_channels, 7, 2) + [m for _ in range(convs) for m in act(64, 3, 1)]
    return nn.Sequential(*layers, nn.Conv2d(64, d_model, patch_size // 2, stride=patch_size // 2))


class PatchMerging(nn.Module):
    """(batch, H*W, C) -> (batch, H/2*W/2, 2C): each 2x2 neighbourhood concatenated, normed, projected."""

    def __init__(self, dim: int, grid: tuple[int, int]):
        super().__init__()
        if grid[0] % 2 or grid[1] % 2:
            raise ValueError(f"a {grid[0]}x{grid[1]} patch grid cannot merge 2x2 into the next stage; "
                             f"give an image size and patch_size with an even grid at every stage")
        self.grid = grid
        self.norm = nn.LayerNorm(4 * dim)
        self.proj = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        (H, W), (batch, _, dim) = self.grid, x.shape
        x = x.view(batch, H // 2, 2, W // 2, 2, dim).permute(0, 1, 3, 2, 4, 5).reshape(batch, H * W // 4, 4 * dim)
        return self.proj(self.norm(x))


def _example() -> Example:
    return Example(dict(image_size=16, in_channels=3, n_classes=5), dict(d_model=16),
                   lambda g: (torch.randn(2, 3, 16, 16, generator=g),))


@register_builder("vision_mamba", revision=2, example=_example)
class VisionModel(nn.Module):
    """(batch, channels, height, width) images -> (batch, n_classes) logits.

    Patches of patch_size (a conv stem), a learned 2-D position embedding, an optional class token
    (`cls_token`), then blocks `x + mixer(norm(x))` (+ an MLP with `mlp`) whose mixer walks the patch grid in
    the orders of `order` / `directions` (zoo.scan.grid_scan), merged by `merge`, with per-walk parameters
    unless `share_params`. Mamba-1 blocks ('M') run every walk in one scan-core call (MultiScanMamba, with
    `conv` '1d' along the walk or '2d' on the grid, and `direction_embedding`); other mixers run once per walk
    (Directional). `stages`: None for `depth` blocks at d_model, or a list of block counts, each stage at twice
    the width of the last on a 2x2-merged grid (VMamba's hierarchy). The pattern's codes cycle over a stage's
    blocks. `conv_stem`: None cuts patches with one conv; n, PlainMamba's stem (a 7x7 conv of stride 2 to 64
    channels, n 3x3 convs, each with batch norm and ReLU, then a patch_size/2 patchifying conv). `out_norm`: VMamba's LayerNorm on the merged walks before the gate.
    `init`: a scheme of zoo.layers.weights ('vim', 'trunc_normal', 'torch').
    The position embedding and the class token take no weight decay, as in Vim's and timm's groups; the
    residual stream is kept in float32 under autocast (Vim's residual_in_fp32).
    """

    def __init__(self, image_size, in_channels: int, n_classes: int, patch_size: int = 4, d_model: int = 64,
                 depth: int = 4, stages: list | None = None, pattern: str = "M", mixers: dict | None = None,
                 order="sweep", directions: str = "forward", merge: str = "mean", share_params: bool = False,
                 conv: str = "1d", direction_embedding: bool = False, cls_token="none", pos_embed: bool = True,
                 mlp: str | None = None, mlp_ratio: float = 4.0, norm: str = "layernorm", dropout: float = 0.0,
                 init: str = "vim", conv_stem: int | None = None, out_norm: bool = False):
        super().__init__()
        _check_pattern(pattern)
        check_merge(merge)
        kwargs = _mixer_kwargs(mixers)
        if mlp is not None and mlp not in MLPS:
            raise ValueError(f"unknown mlp {mlp!r}; choose one of {', '.join(MLPS)} or None")
        depths = [depth] if stages is None else list(stages)
        if not depths or any(not isinstance(d, int) or d < 1 for d in depths):
            raise ValueError(f"stages={stages!r}: give a list of positive block counts (or None and depth)")
        grid = grid_size(image_size, patch_size)
        self.cls_at = cls_index(cls_token, grid[0] * grid[1])
        if self.cls_at is not None and len(depths) > 1:
            raise ValueError("a class token needs a plain layout (stages=None): patch merging has no place for it")
        if self.cls_at is not None and conv == "2d" and "M" in pattern:
            raise ValueError("conv='2d' convolves the patch grid, where a class token has no place; "
                             "use cls_token=none or conv='1d'")

        self.patch_embed = patch_stem(in_channels, d_model, patch_size, conv_stem)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], d_model)) if pos_embed else None
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if self.cls_at is not None else None
        for p in (self.pos_embed, self.cls):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
                no_weight_decay(p)

        def block(dim, grid, code):
            scan = image_scan(order, directions, *grid, token_at=self.cls_at)
            if code == "M":
                mixer = MultiScanMamba(dim, scan, grid=grid, conv=conv, share_params=share_params, merge=merge,
                                       direction_embedding=direction_embedding, out_norm=out_norm,
                                       **kwargs.get(code, {}))
            else:
                mixer = Directional(lambda: build_mixer(code, dim, **kwargs.get(code, {})), scan, dim, share_params,
                                    merge)
            mlp_block = MLPS[mlp](dim, hidden=hidden_size(dim, mlp_ratio)) if mlp is not None else None
            return Block(dim, mixer, mlp_block, norm, dropout)

        self.stages, self.merges, dim = nn.ModuleList(), nn.ModuleList(), d_model
        for i, n_blocks in enumerate(depths):
            if i:
                self.merges.append(PatchMerging(dim, grid))
                grid, dim = (grid[0] // 2, grid[1] // 2), 2 * dim
            self.stages.append(nn.Sequential(*(block(dim, grid, pattern[j % len(pattern)]) for j in range(n_blocks))))
        self.norm = build_norm(norm, dim)
        self.head = nn.Linear(dim, n_classes)
        apply_init(self, init, n_layer=sum(depths), n_residuals=2 if mlp else 1, head=self.head)

    def forward(self, images):
        x = residual_stream(self.patch_embed(images).flatten(2).transpose(1, 2))  # (batch, H*W, d_model)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        if self.cls is not None:
            x = torch.cat([x[:, :self.cls_at], self.cls.expand(len(x), -1, -1), x[:, self.cls_at:]], dim=1)
        for i, stage in enumerate(self.stages):
            x = stage(self.merges[i - 1](x) if i else x)
        x = self.norm(x)
        return self.head(x[:, self.cls_at] if self.cls is not None else x.mean(1))

    def state_size(self, seqlen: int | None = None) -> int:
        """Floats one image carries through its scans, summed over the blocks."""
        return sum(block.mixer.state_size(seqlen) for stage in self.stages for block in stage)
