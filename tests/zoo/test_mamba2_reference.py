"""Mamba2Mixer against the Mamba-2 block written from the paper (Dao & Gu 2024, section 7 and figure 6),
with the mixer's own weights: one input projection to (z, x, B, C, dt); a causal depthwise conv over
(x, B, C) and SiLU; the SSD layer in its matrix form y = (L * C B^T)(dt x) + D x, L[t, s] the decay from s to
t; the output gated by SiLU(z) and RMS-normalised per group; the output projection. Nothing here calls
the mixer's helpers or the scan core's backends (the SSD is the independent matrix-form oracle)."""
import torch
import torch.nn.functional as F

from zoo.layers.mamba2 import Mamba2Mixer
from zoo.ops.ssd.reference import ssd_reference


def paper_block(m: Mamba2Mixer, u):
    batch, seqlen, _ = u.shape
    d_inner, gn, h, p, n = m.d_inner, m.ngroups * m.d_state, m.nheads, m.headdim, m.d_state
    z, xBC, dt = (u @ m.in_proj.weight.T).split([d_inner, d_inner + 2 * gn, h], dim=-1)
    conv = F.conv1d(F.pad(xBC.transpose(1, 2), (m.d_conv - 1, 0)), m.conv.weight, m.conv.bias,
                    groups=xBC.shape[-1]).transpose(1, 2)
    x, B, C = F.silu(conv).split([d_inner, gn, gn], dim=-1)
    y, _ = ssd_reference(x.reshape(batch, seqlen, h, p), dt, -torch.exp(m.A_log), B.reshape(batch, seqlen, -1, n),
                         C.reshape(batch, seqlen, -1, n), D=m.D, dt_bias=m.dt_bias, dt_softplus=True)
    gated = (y.reshape(batch, seqlen, d_inner) * F.silu(z)).reshape(batch, seqlen, m.ngroups, -1)
    normed = gated * torch.rsqrt(gated.pow(2).mean(-1, keepdim=True) + m.norm.eps)
    return (normed.reshape(batch, seqlen, d_inner) * m.norm.weight) @ m.out_proj.weight.T


def test_mamba2_mixer_is_the_papers_block(monkeypatch):
    torch.manual_seed(0)
    m = Mamba2Mixer(d_model=12, d_state=5, expand=2, headdim=6, ngroups=2, d_conv=3, chunk_size=7).double()
    with torch.no_grad():  # move the parameters off their initial values, which hide mistakes (D = 1, weight = 1)
        for param in (m.D, m.norm.weight, m.dt_bias):
            param.add_(torch.randn_like(param) * 0.3)
    u = torch.randn(2, 23, 12, dtype=torch.float64)
    for backend in ("naive", "chunked"):
        monkeypatch.setenv("MAMBAZOO_SCAN_BACKEND", backend)
        torch.testing.assert_close(m(u), paper_block(m, u), rtol=1e-9, atol=1e-9)
