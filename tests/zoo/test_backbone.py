"""The block stack: shapes, gradients, decoding, state size and causality over several layouts, and bad configs."""
from __future__ import annotations

import pytest
import torch

from tests.zoo.test_layers import D_MODEL, SEQLEN, TINY, decode, floats_per_sequence, nonzero_grads
from zoo.backbone import Backbone
from zoo.layers import AttentionMixer, Mamba1Mixer, Mamba2Mixer, S4DMixer, SwiGLU

LAYOUTS = [("M", None), ("2", None), ("A", None), ("S", None), ("MA2S", None), ("MMMAMMMM", "swiglu")]
IDS = [f"{p}-{mlp}" for p, mlp in LAYOUTS]


def tiny(pattern, mlp=None, dtype=torch.float32, **kwargs):
    return Backbone(D_MODEL, pattern, mixers=TINY, mlp=mlp, **kwargs).to(dtype)


@pytest.mark.parametrize("pattern,mlp", LAYOUTS, ids=IDS)
def test_forward_shape_and_every_parameter_learns(pattern, mlp):
    model = tiny(pattern, mlp)
    assert len(model.blocks) == len(pattern)
    x = torch.randn(2, SEQLEN, D_MODEL)
    y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert nonzero_grads(model, x) == []


@pytest.mark.parametrize("pattern,mlp", LAYOUTS, ids=IDS)
def test_step_equals_forward_and_state_size(pattern, mlp):
    model = tiny(pattern, mlp, torch.float64)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    ys, state = decode(model, x)
    torch.testing.assert_close(ys, model(x), rtol=1e-9, atol=1e-9)
    assert model.state_size(SEQLEN) == floats_per_sequence(state, batch=2)
    assert model.state_size(SEQLEN) == sum(b.mixer.state_size(SEQLEN) for b in model.blocks)


@pytest.mark.parametrize("pattern,mlp", LAYOUTS[-2:], ids=IDS[-2:])
def test_causal(pattern, mlp):
    model = tiny(pattern, mlp, torch.float64)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 7] -= 1.0
    y, y2 = model(x), model(x2)
    torch.testing.assert_close(y2[:, :7], y[:, :7], rtol=0, atol=1e-12)
    assert not torch.allclose(y2[:, 7:], y[:, 7:])


def test_pattern_builds_the_named_mixers_with_their_options():
    model = Backbone(32, "MA2SM", mixers={"mamba1": dict(d_state=3), "2": dict(headdim=16, d_state=5),
                                          "attention": dict(n_heads=4)}, mlp="swiglu", mlp_ratio=2)
    kinds = [type(b.mixer) for b in model.blocks]
    assert kinds == [Mamba1Mixer, AttentionMixer, Mamba2Mixer, S4DMixer, Mamba1Mixer]
    assert model.blocks[0].mixer.d_state == 3 and model.blocks[4].mixer.d_state == 3
    assert model.blocks[2].mixer.nheads == 4 and model.blocks[1].mixer.n_heads == 4
    assert all(isinstance(b.mlp, SwiGLU) and b.mlp.hidden == 64 for b in model.blocks)
    assert Backbone(32, "M", final_norm=False).final_norm is None


def test_layernorm_and_dtype_of_residual_stream():
    model = tiny("MS", norm="layernorm", dtype=torch.bfloat16)
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.bfloat16)
    y = model(x)
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()


def test_attention_blocks_need_seqlen_for_state_size():
    assert tiny("MM2").state_size() == tiny("MM2").state_size(1000)
    with pytest.raises(ValueError, match="seqlen"):
        tiny("MA").state_size()
    assert tiny("MA").state_size(10) - tiny("MA").state_size(9) == 2 * D_MODEL


def test_bad_config_names_the_problem():
    with pytest.raises(ValueError, match=r"'x' at position 3.*'M'"):
        Backbone(D_MODEL, "MMAxM")
    with pytest.raises(ValueError, match="non-empty"):
        Backbone(D_MODEL, "")
    with pytest.raises(ValueError, match="'mamba3'"):
        Backbone(D_MODEL, "M", mixers={"mamba3": {}})
    with pytest.raises(TypeError, match="Mamba2Mixer.*'head_dim'"):
        Backbone(D_MODEL, "M", mixers={"mamba2": dict(head_dim=8)})
    with pytest.raises(ValueError, match="twice"):
        Backbone(D_MODEL, "M", mixers={"M": {}, "mamba1": {}})
    with pytest.raises(ValueError, match="'geglu'"):
        Backbone(D_MODEL, "M", mlp="geglu")
    with pytest.raises(ValueError, match="'batchnorm'"):
        Backbone(D_MODEL, "M", norm="batchnorm")


def test_a_bidirectional_block_adds_the_reversed_scan_put_back_in_order():
    from zoo.backbone import Backbone
    torch.manual_seed(0)
    shared = Backbone(16, pattern="M", directions="bidirectional", share_params=True, final_norm=False).double()
    block = shared.blocks[0]
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    mixer = block.mixer.mixers[0]
    h = block.norm(x)
    expected = x + mixer(h) + mixer(h.flip(1)).flip(1)
    assert torch.allclose(shared(x), expected, atol=1e-12)
    separate = Backbone(16, pattern="M", directions="bidirectional", merge="mean")
    assert len(separate.blocks[0].mixer.mixers) == 2
    with pytest.raises(NotImplementedError, match="no recurrent decoding state"):
        separate.init_state(2)


def test_bad_direction_settings_name_them():
    from zoo.backbone import Backbone
    with pytest.raises(ValueError, match=r"directions='sideways' is not one of forward, bidirectional"):
        Backbone(16, directions="sideways")
    with pytest.raises(ValueError, match=r"merge='max' is not one of sum, mean, concat, gate"):
        Backbone(16, directions="bidirectional", merge="max")


def test_shared_blocks_apply_one_mixer_with_a_state_each():
    shared, apart = tiny("MAMA", shared="A", dtype=torch.float64), tiny("MAMA", dtype=torch.float64)
    assert shared.blocks[1].mixer is shared.blocks[3].mixer and shared.blocks[1].norm is not shared.blocks[3].norm
    attention = sum(p.numel() for p in apart.blocks[3].mixer.parameters())
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731  (parameters() lists a tensor once)
    assert count(apart) - count(shared) == attention > 0
    x = torch.randn(2, SEQLEN, D_MODEL, dtype=torch.float64)
    ys, state = decode(shared, x)  # the two applications keep their own KV caches
    torch.testing.assert_close(ys, shared(x), rtol=1e-9, atol=1e-9)
    assert shared.state_size(SEQLEN) == floats_per_sequence(state, batch=2) == apart.state_size(SEQLEN)
    with pytest.raises(ValueError, match="shared='S' names 'S', which pattern 'MAMA' does not use"):
        tiny("MAMA", shared="S")
