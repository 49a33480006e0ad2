"""Every registered vision model gets the same checks (generated from list_models(domain="vision")), plus the
layout promises of the builder: where the class token sits, what stages do, and bad settings in one line."""
import pytest
import torch

import zoo
from zoo.vision.model import cls_index

IMAGE, CHANNELS, CLASSES = 16, 3, 5


def small(name, **settings):
    torch.manual_seed(0)
    sized = {} if zoo.model_info(name).builder == "timm_vit" else {"d_model": 16}
    return zoo.create_model(name, image_size=IMAGE, in_channels=CHANNELS, n_classes=CLASSES, **{**sized, **settings})


@pytest.fixture(params=zoo.list_models(domain="vision"))
def name(request):
    return request.param


def test_the_vision_domain_has_every_named_variant_and_both_timm_baselines():
    assert set(zoo.list_models(domain="vision")) >= {"vim", "vmamba", "plainmamba", "localmamba", "fractalmamba",
                                                    "vim_ssd", "vit", "deit"}


def test_logits_shape_and_finite(name):
    y = small(name)(torch.randn(2, CHANNELS, IMAGE, IMAGE))
    assert y.shape == (2, CLASSES) and torch.isfinite(y).all()


def test_every_parameter_gets_a_gradient(name):
    model = small(name)
    model(torch.randn(2, CHANNELS, IMAGE, IMAGE)).logsumexp(-1).sum().backward()
    missing = {n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()}
    assert missing == set()
    # a zero-initialised last layer (the gate's) passes no gradient to the layer before it on the first step
    dead = {n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0 and ".gate.0." not in n}
    assert dead == set()


@pytest.mark.parametrize("name", ["vit", "deit"])
def test_the_baselines_are_timm_models(name):
    from timm.models.vision_transformer import VisionTransformer
    model = small(name)
    assert isinstance(model, VisionTransformer)
    assert (model.num_prefix_tokens == 2) == (name == "deit")  # DeiT's distillation token


def test_the_class_token_sits_where_the_config_puts_it():
    assert [cls_index(p, 16) for p in ("none", "head", "middle", "tail", 5)] == [None, 0, 8, 16, 5]
    model = small("vim").eval()
    seen = {}
    model.stages[0][0].register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    images = torch.randn(1, CHANNELS, IMAGE, IMAGE)
    with torch.no_grad():
        model(images)
    assert seen["x"].shape[1] == 17 and torch.allclose(seen["x"][0, 8], model.cls[0, 0])


def test_stages_halve_the_grid_and_double_the_width():
    model = small("vmamba", stages=[1, 1, 1])
    widths = [stage[0].mixer.d_model for stage in model.stages]
    grids = [stage[0].mixer.grid for stage in model.stages]
    assert widths == [16, 32, 64] and grids == [(4, 4), (2, 2), (1, 1)]


@pytest.mark.parametrize("settings, message", [
    ({"order": "spiral"}, r"scan order 'spiral' is unknown; orders: atrous, columns, hilbert"),
    ({"merge": "max"}, r"merge='max' is not one of sum, mean, concat, gate"),
    ({"directions": "both"}, r"scan directions 'both' is unknown"),
    ({"patch_size": 5}, r"image size 16x16 is not divisible by patch_size=5"),
    ({"order": "local:8"}, r"the window is larger than the 4x4 grid"),
    ({"cls_token": 17}, r"cls_token=17 is outside the sequence of 17 tokens \(0..16\)"),
    ({"cls_token": "centre"}, r"cls_token='centre' is not one of none, head, middle, tail"),
    ({"conv": "2d", "cls_token": "head"}, r"conv='2d' convolves the patch grid"),
    ({"stages": [1, 1, 1, 1], "cls_token": "none"}, r"a 1x1 patch grid cannot merge 2x2"),
    ({"stages": [1, 1], "cls_token": "middle"}, r"a class token needs a plain layout"),
    ({"mixers": {"mamba1": {"d_stat": 4}}}, r"unknown option 'd_stat'"),
])
def test_bad_settings_name_the_setting_and_what_is_allowed(settings, message):
    with pytest.raises((ValueError, TypeError), match=message):
        small("vim", **settings)
