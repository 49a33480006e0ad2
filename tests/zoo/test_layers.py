"""Mixers: shapes, gradients, recurrent decoding against the parallel forward, state sizes, causality,
initialisation, and that the SSM mixers really compute their recurrence in the scan core."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zoo.layers import (MIXER_NAMES, MIXERS, AttentionMixer, GatedRMSNorm, Mamba1Mixer, Mamba2Mixer, RMSNorm,
                        S4DMixer, SwiGLU, build_mixer)
from zoo.layers.conv import CausalConv1d
from zoo.ops import last_backend

D_MODEL = 16
SEQLEN = 13  # not a multiple of any chunk size below
# tiny but not degenerate: several heads and groups, a conv window, chunks that do not divide SEQLEN
TINY = {"M": dict(d_state=4, d_conv=3),
        "2": dict(d_state=4, headdim=8, ngroups=2, chunk_size=4),
        "A": dict(n_heads=2),
        "S": dict(d_state=4, d_conv=3)}
SCAN_OP = {"M": "selective_scan", "2": "ssd", "S": "selective_scan"}


def tiny(code, dtype=torch.float32, **overrides):
    return build_mixer(code, D_MODEL, **{**TINY[code], **overrides}).to(dtype)


def leaves(state):
    if isinstance(state, torch.Tensor):
        return [state]
    items = state.values() if isinstance(state, dict) else state
    return [t for item in items for t in leaves(item)]


def floats_per_sequence(state, batch):
    return sum(t.numel() for t in leaves(state) if t.is_floating_point()) // batch


def decode(model, x):
    """Run `step` token by token from `init_state`; checks on the way that no step edits its input state."""
    state = model.init_state(x.shape[0], dtype=x.dtype)
    ys = []
    for t in range(x.shape[1]):
        before = [s.clone() for s in leaves(state)]
        y, new_state = model.step(x[:, t], state)
        assert all(torch.equal(a, b) for a, b in zip(before, leaves(state))), f"step {t} modified its input state"
        ys.append(y)
        state = new_state
    return torch.stack(ys, dim=1), state


def nonzero_grads(model, x):
    """Names of parameters whose gradient is missing, zero or not finite after one backward."""
    y = model(x)
    (y * torch.randn_like(y)).sum().backward()
    return [name for name, p in model.named_parameters()
            if p.grad is None or not torch.isfinite(p.grad).all() or not p.grad.abs().sum() > 0]


@pytest.mark.parametrize("code", MIXERS)
def test_forward_shape_and_every_parameter_learns(code):
    model = tiny(code)
    x = torch.randn(2, SEQLEN, D_MODEL)
    y = model(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.isfinite(y).all()
    assert nonzero_grads(model, x) == []


@pytest.mark.parametrize("code", MIXERS)
def test_step_equals_forward_and_state_size(code):
    model = tiny(code, torch.float64)
    x = torch.randn(3, SEQLEN, D_MODEL, dtype=torch.float64)
    ys, state = decode(model, x)
    torch.testing.assert_close(ys, model(x), rtol=1e-9, atol=1e-9)
    assert model.state_size(SEQLEN) == floats_per_sequence(state, batch=3)


@pytest.mark.parametrize("code", MIXERS)
def test_causal(code):
    model = tiny(code, torch.float64)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    t = 6
    x2 = x.clone()
    x2[:, t] += 1.0
    y, y2 = model(x), model(x2)
    torch.testing.assert_close(y2[:, :t], y[:, :t], rtol=0, atol=1e-12)
    assert not torch.allclose(y2[:, t:], y[:, t:])


def test_non_causal_attention_sees_the_future_and_cannot_step():
    model = tiny("A", torch.float64, causal=False)
    x = torch.randn(1, SEQLEN, D_MODEL, dtype=torch.float64)
    x2 = x.clone()
    x2[:, -1] += 1.0
    assert not torch.allclose(model(x2)[:, 0], model(x)[:, 0])
    with pytest.raises(RuntimeError, match="causal=False"):
        model.step(x[:, 0], (x.new_zeros(1, 2, 0, 8), x.new_zeros(1, 2, 0, 8)))


def test_attention_state_size_needs_seqlen():
    with pytest.raises(ValueError, match="grows"):
        tiny("A").state_size()


def test_attention_rotary_makes_scores_depend_on_relative_position_only():
    from zoo.layers.attention import rotary

    q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    at = lambda v, p: rotary(v[None], torch.tensor([p]))[0]  # noqa: E731
    assert torch.allclose(at(q, 5) @ at(k, 2), at(q, 13) @ at(k, 10))
    assert not torch.allclose(at(q, 5) @ at(k, 2), at(q, 5) @ at(k, 4))
    # in the layer too: one token repeated gives scores that depend on i - j alone, and do depend on it
    model = tiny("A", torch.float64)
    x = torch.randn(1, 1, D_MODEL, dtype=torch.float64).expand(1, SEQLEN, D_MODEL)
    q, k, _ = model._qkv(x, torch.arange(SEQLEN))
    scores = q[0, 0] @ k[0, 0].T
    torch.testing.assert_close(scores[1:, 1:], scores[:-1, :-1])
    assert not torch.allclose(scores[0, 0], scores[3, 0])


@pytest.mark.parametrize("code", SCAN_OP)
def test_layer_goes_through_the_scan_core(code, monkeypatch):
    """Forcing the oracle and the chunked backend gives the same layer output, and the core says which ran."""
    model = tiny(code, torch.float64)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    outputs = {}
    for backend in ("naive", "chunked"):
        monkeypatch.setenv("MAMBAZOO_SCAN_BACKEND", backend)
        outputs[backend] = model(x)
        assert last_backend(SCAN_OP[code]) == backend
    torch.testing.assert_close(outputs["chunked"], outputs["naive"], rtol=1e-9, atol=1e-9)


def test_mamba1_recomputed_from_its_own_tensors():
    """The layer's output equals its pieces put together by hand around the oracle scan."""
    m = tiny("M", torch.float64)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    from zoo.ops import selective_scan

    xz = m.in_proj(x)
    u, z = xz[..., :m.d_inner], xz[..., m.d_inner:]
    u = F.silu(F.conv1d(F.pad(u.transpose(1, 2), (m.d_conv - 1, 0)), m.conv.weight, m.conv.bias,
                        groups=m.d_inner))
    dt_low, B, C = m.x_proj(u.transpose(1, 2)).split([m.dt_rank, m.d_state, m.d_state], dim=-1)
    delta = F.softplus(dt_low @ m.dt_proj.weight.T + m.dt_proj.bias)
    y = selective_scan(u, delta.transpose(1, 2), -torch.exp(m.A_log), B.transpose(1, 2), C.transpose(1, 2),
                       D=m.D, z=z.transpose(1, 2), backend="naive")
    torch.testing.assert_close(m(x), m.out_proj(y.transpose(1, 2)), rtol=1e-9, atol=1e-9)


def test_mamba_plus_forget_gate_by_hand_and_in_decoding():
    """Mamba+: out = y * silu(z) + D u * (1 - sigmoid(z)), with y = C h the scan of u without its skip; its
    recurrent step gives the parallel output."""
    m = tiny("M", torch.float64, forget_gate=True)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    from zoo.ops import selective_scan

    u, z = m.in_proj(x).transpose(1, 2).chunk(2, dim=1)
    u = F.silu(m.conv(u))
    dt_low, B, C = m.x_proj(u.transpose(1, 2)).split([m.dt_rank, m.d_state, m.d_state], dim=-1)
    delta = F.softplus(dt_low @ m.dt_proj.weight.T + m.dt_proj.bias)
    y = selective_scan(u, delta.transpose(1, 2), -torch.exp(m.A_log), B.transpose(1, 2), C.transpose(1, 2),
                       backend="naive")
    gated = y * F.silu(z) + m.D[:, None] * u * (1 - torch.sigmoid(z))
    torch.testing.assert_close(m(x), m.out_proj(gated.transpose(1, 2)), rtol=1e-9, atol=1e-9)
    plain = tiny("M", torch.float64)
    plain.load_state_dict(m.state_dict())
    assert not torch.allclose(plain(x), m(x))  # the option changes the output
    torch.testing.assert_close(decode(m, x)[0], m(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", MIXER_NAMES)
def test_build_by_name(name):
    assert type(build_mixer(name, D_MODEL, **TINY[MIXER_NAMES[name]])) is MIXERS[MIXER_NAMES[name]]


def test_dt_initialisation_lies_in_range():
    dt_min, dt_max = 2e-3, 5e-2
    dts = {"mamba1": F.softplus(Mamba1Mixer(64, dt_min=dt_min, dt_max=dt_max).dt_proj.bias),
           "mamba2": F.softplus(Mamba2Mixer(64, headdim=4, dt_min=dt_min, dt_max=dt_max).dt_bias),
           "s4d": torch.exp(S4DMixer(64, dt_min=dt_min, dt_max=dt_max).log_dt)}
    for name, dt in dts.items():
        dt = dt.detach()
        assert dt.min() >= dt_min * (1 - 1e-5) and dt.max() <= dt_max * (1 + 1e-5), name
        # log-uniform: both halves of the log range are populated
        mid = math.sqrt(dt_min * dt_max)
        assert (dt < mid).any() and (dt > mid).any(), name


def test_A_initialisations():
    n = 5
    for cls in (Mamba1Mixer, S4DMixer):
        A = -torch.exp(cls(8, d_state=n, A_init="s4d_real").A_log.detach())
        torch.testing.assert_close(A, -torch.arange(1.0, n + 1).expand(16, n))
        A = -torch.exp(cls(8, d_state=n, A_init="s4d_lin").A_log.detach())
        torch.testing.assert_close(A, torch.full((16, n), -0.5))
        A = -torch.exp(cls(8, d_state=n, A_init="random").A_log.detach())
        assert (A <= -1 + 1e-6).all() and (A >= -n - 1e-6).all() and A.unique().numel() > n
        with pytest.raises(ValueError, match="s4d_real"):
            cls(8, A_init="hippo")
    A = -torch.exp(Mamba2Mixer(16, headdim=2, A_init_range=(2, 3)).A_log.detach())
    assert A.shape == (16,) and (A <= -2 + 1e-6).all() and (A >= -3 - 1e-6).all()


def test_ssm_parameters_are_marked_no_weight_decay():
    marked = lambda m: {n for n, p in m.named_parameters() if getattr(p, "_no_weight_decay", False)}  # noqa: E731
    assert marked(tiny("M")) == {"A_log", "D", "dt_proj.bias"}
    assert marked(tiny("2")) == {"A_log", "D", "dt_bias"}
    assert marked(tiny("S")) == {"A_log", "D", "log_dt", "B"}
    assert marked(tiny("A")) == set()


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="'mamba3'.*mamba1"):
        build_mixer("mamba3", D_MODEL)
    with pytest.raises(TypeError, match="Mamba1Mixer.*'d_sate'"):
        build_mixer("M", D_MODEL, d_sate=4)
    with pytest.raises(ValueError, match=r"d_inner.*32.*headdim=12"):
        Mamba2Mixer(16, headdim=12)
    with pytest.raises(ValueError, match="ngroups=3"):
        Mamba2Mixer(16, headdim=8, ngroups=3)
    with pytest.raises(ValueError, match="n_heads=3"):
        AttentionMixer(16, n_heads=3)
    with pytest.raises(ValueError, match="even head_dim"):
        AttentionMixer(18, n_heads=2)


def test_attention_default_heads():
    assert AttentionMixer(256).n_heads == 4
    assert AttentionMixer(32).n_heads == 1
    assert AttentionMixer(320, head_dim=32).n_heads == 10
    assert 200 % AttentionMixer(200).n_heads == 0


def test_norms_and_mlp():
    x = torch.randn(3, 7, 24, dtype=torch.bfloat16) * 5
    y = RMSNorm(24)(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float().pow(2).mean(-1), torch.ones(3, 7), rtol=3e-2, atol=3e-2)
    # gated: each group of 8 channels is normalised on its own
    y, z = torch.randn(4, 24), torch.randn(4, 24)
    g = GatedRMSNorm(24, group_size=8)(y, z).unflatten(-1, (3, 8))
    torch.testing.assert_close(g.pow(2).mean(-1), torch.ones(4, 3), rtol=1e-4, atol=1e-4)
    assert SwiGLU(16).hidden == 48 and SwiGLU(24, mlp_ratio=2).hidden == 48 and SwiGLU(20).hidden == 56


@pytest.mark.parametrize("seqlen", [1, 5, 64, 65])
@pytest.mark.parametrize("width, bias", [(4, True), (3, False), (1, True)])
def test_causal_conv_equals_a_padded_depthwise_conv_forward_and_backward(seqlen, width, bias):
    """Both of its paths (shifted products up to conv.SHORT tokens, oneDNN's conv beyond) against F.conv1d."""
    torch.manual_seed(seqlen)
    m = CausalConv1d(6, width, bias=bias).double()
    x = torch.randn(3, 6, seqlen, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(3, 6, seqlen, dtype=torch.float64)
    ours = torch.autograd.grad(m(x), [x, *m.parameters()], dy)
    y = F.conv1d(F.pad(x, (width - 1, 0)), m.weight, m.bias, groups=6)
    expected = torch.autograd.grad(y, [x, *m.parameters()], dy)
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(m(x), y)
