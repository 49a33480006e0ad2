"""Multi-head attention with rotary position embedding: the Transformer++ mixer and the hybrids' attention."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def rotary(x, positions, base: float = 10000.0):
    """Rotate channel pairs (i, i + head_dim/2) of x (..., seqlen, head_dim) by positions * base^(-2i/head_dim)."""
    half = x.shape[-1] // 2
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    inv_freq = base ** -(torch.arange(half, device=x.device, dtype=dtype) / half)
    angles = positions.to(dtype)[:, None] * inv_freq
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def _default_heads(d_model: int) -> int:
    """One head per 64 channels (at least one), lowered to the nearest count that divides d_model."""
    n = max(1, d_model // 64)
    while d_model % n:
        n -= 1
    return n


class AttentionMixer(nn.Module):
    """(batch, seqlen, d_model) -> (batch, seqlen, d_model). Give n_heads or head_dim (or neither: heads of ~64).

    Decoding keeps a KV cache that grows by one key and one value per token, which is the
    contrast with the SSM mixers' fixed-size state.
    """

    def __init__(self, d_model: int, n_heads: int | None = None, head_dim: int | None = None, causal: bool = True,
                 rope: bool = True, rope_base: float = 10000.0, bias: bool = False):
        super().__init__()
        if n_heads is None:
            n_heads = _default_heads(d_model) if head_dim is None else d_model // max(head_dim, 1)
        if n_heads < 1 or d_model % n_heads or (head_dim is not None and n_heads * head_dim != d_model):
            raise ValueError(f"AttentionMixer: d_model={d_model} must equal n_heads * head_dim, "
                             f"got n_heads={n_heads}, head_dim={head_dim}")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        if rope and self.head_dim % 2:
            raise ValueError(f"AttentionMixer: rotary embedding needs an even head_dim, got {self.head_dim} "
                             f"(d_model={d_model}, n_heads={n_heads})")
        self.causal, self.rope, self.rope_base = causal, rope, rope_base
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _qkv(self, x, positions):
        """x (batch, seqlen, d_model) -> q, k, v (batch, n_heads, seqlen, head_dim), q and k rotated."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.head_dim)).permute(2, 0, 3, 1, 4)
        if self.rope:
            q, k = rotary(q, positions, self.rope_base), rotary(k, positions, self.rope_base)
        return q, k, v

    def forward(self, x, with_state=False, mask=None):
        """with_state: also the KV cache of every token (prefill, in one pass), (out, state). mask (batch,
        seqlen), False at padding: no query attends to a padded key (a padded query attends to itself only,
        so no row of the softmax is empty)."""
        if with_state:
            self._check_causal()
        q, k, v = self._qkv(x, torch.arange(x.shape[1], device=x.device))
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=self._allowed(mask))
        out = self.out_proj(y.transpose(1, 2).flatten(-2))
        return (out, (k, v)) if with_state else out

    def _allowed(self, mask):
        """(batch, 1, seqlen, seqlen) bool: which key each query may attend to."""
        seqlen = mask.shape[1]
        allowed = mask[:, None, None, :].expand(-1, 1, seqlen, -1)
        if self.causal:
            allowed = allowed.tril()
        return allowed | torch.eye(seqlen, dtype=torch.bool, device=mask.device)

    def _check_causal(self):
        if not self.causal:
            raise RuntimeError("AttentionMixer(causal=False) cannot decode token by token: "
                               "each output depends on tokens that come after it")

    def init_state(self, batch, device=None, dtype=None):
        self._check_causal()
        device = self.qkv.weight.device if device is None else device
        dtype = self.qkv.weight.dtype if dtype is None else dtype
        empty = torch.zeros(batch, self.n_heads, 0, self.head_dim, device=device, dtype=dtype)
        return (empty, empty.clone())

    def step(self, x_t, state):
        """The state is (keys, values) of every token so far; its length is the next token's position."""
        self._check_causal()
        k_cache, v_cache = state
        position = torch.tensor([k_cache.shape[2]], device=x_t.device)
        q, k, v = self._qkv(x_t[:, None], position)
        k_cache = torch.cat([k_cache, k.to(k_cache.dtype)], dim=2)
        v_cache = torch.cat([v_cache, v.to(v_cache.dtype)], dim=2)
        # the one query may see every cached key: no mask (is_causal would align it to the first key)
        y = F.scaled_dot_product_attention(q, k_cache.to(q.dtype), v_cache.to(q.dtype))
        return self.out_proj(y[:, :, 0].flatten(-2)), (k_cache, v_cache)

    def state_size(self, seqlen: int | None = None) -> int:
        if seqlen is None:
            raise ValueError("attention's decoding state (the KV cache) grows with the sequence: "
                             "pass seqlen to state_size")
        return 2 * seqlen * self.d_model
