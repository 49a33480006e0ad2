"""Each builder initialised, normed and grouped for weight decay as its reference code does (or as its
variant file says it differs), checked at initialisation."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import zoo
from tasks.base import parameter_groups
from zoo.layers import RMSNorm
from zoo.layers.merge import DirectionMerge

VOCAB = 64
LANGUAGE = zoo.list_models("language")
IMAGE = dict(image_size=32, in_channels=1, n_classes=10)


def language(name, **kw):
    torch.manual_seed(0)
    return zoo.create_model(name, vocab_size=VOCAB, **kw)


def exempt(model) -> set[int]:
    return {id(p) for p in parameter_groups(model, 0.1)[1]["params"]}


@pytest.mark.parametrize("name", LANGUAGE)
def test_an_untrained_language_model_guesses_uniformly(name):
    """mamba_ssm's embedding N(0, 0.02) keeps the initial logits small: the loss on random tokens is within
    0.3 nats of ln(vocab) (with nn.Embedding's N(0, 1), tied, it was about 16 times ln(64))."""
    ids = torch.randint(VOCAB, (4, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        loss = F.cross_entropy(language(name)(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())
    assert abs(loss.item() - math.log(VOCAB)) < 0.3


@pytest.mark.parametrize("name", LANGUAGE)
def test_language_models_follow_mamba_ssm_init(name):
    model = language(name)
    blocks = len(model.backbone.pattern)
    assert abs(model.embed.weight.std().item() - 0.02) < 0.002
    for pname, p in model.named_parameters():
        if pname.endswith(("out_proj.weight", "w_out.weight")):
            fan_in = p.shape[1]  # kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
            expected = 1 / math.sqrt(3 * fan_in) / math.sqrt(blocks)
            assert abs(p.std().item() / expected - 1) < 0.15, pname
        elif pname.endswith("dt_proj.bias"):  # kept: softplus(bias) is the initial dt in [1e-3, 1e-1]
            dt = F.softplus(p)
            assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001 and p.std() > 0
    linear_biases = [m.bias for m in model.modules() if isinstance(m, torch.nn.Linear) and m.bias is not None]
    assert all(torch.count_nonzero(b) == 0 for b in linear_biases if not getattr(b, "_no_reinit", False))
    assert id(model.embed.weight) in exempt(model)


def test_the_init_setting_picks_the_scheme_and_names_the_choices():
    assert language("mamba", init="torch").embed.weight.std() > 0.5  # nn.Embedding's N(0, 1)
    with pytest.raises(ValueError, match="unknown init 'xavier'; choose one of torch, mamba, vim, trunc_normal"):
        language("mamba", init="xavier")


def test_vim_init_norm_and_decay_groups():
    torch.manual_seed(0)
    model = zoo.create_model("vim", size="vim_ti", image_size=224, in_channels=3, n_classes=1000)
    assert isinstance(model.norm, RMSNorm) and all(isinstance(b.norm, RMSNorm) for b in model.stages[0])
    assert abs(model.head.weight.std().item() - 0.02) < 0.002 and torch.count_nonzero(model.head.bias) == 0
    fan_in = 3 * 16 * 16  # LeCun normal on the patch stem
    assert abs(model.patch_embed.weight.std().item() * math.sqrt(fan_in) - 1) < 0.05
    out = model.stages[0][0].mixer.out_proj.weight
    assert abs(out.std().item() / (1 / math.sqrt(3 * out.shape[1]) / math.sqrt(24)) - 1) < 0.1
    assert {id(model.pos_embed), id(model.cls)} <= exempt(model)
    assert model.cls_at == 98  # the middle of 196 patches


def test_trunc_normal_init_of_vmamba_plainmamba_localvim():
    torch.manual_seed(0)
    for name in ("vmamba", "plainmamba", "localmamba"):
        model = zoo.create_model(name, **IMAGE, d_model=64)
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.weight.numel() > 2000]
        assert linears and all(abs(m.weight.std().item() - 0.02) < 0.003 for m in linears), name


def test_vmamba_is_the_v0_block_with_out_norm_and_no_mlp():
    model = zoo.create_model("vmamba", **IMAGE)
    block = model.stages[0][0]
    assert isinstance(block.mixer.out_norm, torch.nn.LayerNorm) and block.mlp is None
    assert block.mixer.in_proj.out_features == 2 * block.mixer.d_inner  # x and the z gate


def test_plainmamba_conv_biases_and_direction_table():
    model = zoo.create_model("plainmamba", **IMAGE)
    mixer = model.stages[0][0].mixer
    assert mixer.conv.kernel_size == (7, 7) and mixer.in_proj.bias is not None and mixer.out_proj.bias is not None
    assert mixer.direction_B.shape == (5, 8) and id(mixer.direction_B) in exempt(model)
    assert model.cls is None


def test_localvim_pools_the_mean_through_one_channel_attention():
    model = zoo.create_model("localmamba", **IMAGE)
    merge = model.stages[0][0].mixer.merge
    assert model.cls is None and merge.merge == "biattn" and isinstance(merge.gate[0], torch.nn.LayerNorm)
    ys = torch.randn(2, 4, 5, 6)
    one = DirectionMerge("biattn", 4, 6)
    gate = one.gate
    assert torch.allclose(one(ys), sum(ys[:, k] * gate(ys[:, k].mean(1, keepdim=True)) for k in range(4)))


def test_timm_baselines_keep_timms_decay_exemptions():
    model = zoo.create_model("deit", **IMAGE)
    free = exempt(model)
    assert {id(model.pos_embed), id(model.cls_token), id(model.dist_token)} <= free
    assert id(model.patch_embed.proj.weight) not in free


@pytest.mark.parametrize("name", ["s_mamba", "itransformer", "patchtst"])
def test_the_transformer_encoder_forecasters_are_post_norm(name):
    model = zoo.create_model(name, lookback=96, horizon=96, n_vars=7)
    assert all(block.post_norm for block in model.backbone.blocks)
    x = torch.randn(2, 10, model.backbone.d_model)
    block = model.backbone.blocks[0].eval()
    expected = block.norm(x + block.mixer(x))
    if block.mlp is not None:
        expected = block.mlp_norm(expected + block.mlp(expected))
    torch.testing.assert_close(block(x), expected)


def test_s_mamba_uses_its_etth1_state_and_conv():
    mixer = zoo.create_model("s_mamba", lookback=96, horizon=96, n_vars=7).backbone.blocks[0].mixer.mixers[0]
    assert (mixer.d_state, mixer.d_conv) == (2, 2)


def test_the_residual_stream_stays_float32_under_autocast():
    torch.manual_seed(0)
    streams = []
    model = zoo.create_model("vmamba", **IMAGE)
    model.stages[0][0].register_forward_hook(lambda m, i, o: streams.append(o.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.randn(2, 1, 32, 32))
    assert streams == [torch.float32]


@pytest.mark.parametrize("scheme", ["mamba", "vim", "trunc_normal"])
def test_no_scheme_redraws_the_dt_bias(scheme):
    """The dt bias is the initial step size: whatever a scheme does to Linear biases leaves it in range."""
    mixer = language("mamba", init=scheme).backbone.blocks[0].mixer
    dt = F.softplus(mixer.dt_proj.bias)
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
