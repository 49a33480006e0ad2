"""Every registered forecaster gets the same checks (generated from list_models(domain="timeseries")), plus
the invariants its tokens promise."""
import pytest
import torch

import zoo
from zoo.timeseries.dlinear import moving_average

LOOKBACK, HORIZON, VARS = 48, 24, 5
SMALL = {"dlinear": {}, "timemachine": {"n1": 16, "n2": 8}}  # the others shrink to d_model 16


# TimeMachine's channel-independent "whole embedding" Mambas scan a sequence of one token: the state starts at
# zero, so the decay A never acts and gets no gradient (so in the authors' model too)
NO_GRADIENT = {"timemachine": {"level1.1.A_log", "level2.1.A_log"}}


def small(name, **settings):
    torch.manual_seed(0)
    entry = zoo.model_info(name)
    sized = SMALL.get(entry.builder, {"d_model": 16})
    if entry.builder == "patch_forecaster":
        sized = dict(sized, patch_len=8, stride=4)
    return zoo.create_model(name, lookback=LOOKBACK, horizon=HORIZON, n_vars=VARS, **{**sized, **settings})


@pytest.fixture(params=zoo.list_models(domain="timeseries"))
def name(request):
    return request.param


def test_forecast_shape_and_finite(name):
    y = small(name)(torch.randn(3, LOOKBACK, VARS))
    assert y.shape == (3, HORIZON, VARS) and torch.isfinite(y).all()


def test_every_parameter_gets_a_gradient(name):
    model = small(name)
    model(torch.randn(3, LOOKBACK, VARS)).pow(2).mean().backward()
    starved = {n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0}
    assert starved == NO_GRADIENT.get(name, set())


@pytest.mark.parametrize("name", [n for n in zoo.list_models(domain="timeseries")
                                  if zoo.resolved_config(n).get("revin", False)])
def test_instance_normalised_models_follow_a_shift_of_the_level(name):
    """RevIN: adding a constant to a variable's look-back adds it to that variable's forecast, exactly."""
    model = small(name).double().eval()
    x = torch.randn(2, LOOKBACK, VARS, dtype=torch.float64)
    shift = torch.arange(VARS, dtype=torch.float64) * 10
    with torch.no_grad():
        assert torch.allclose(model(x + shift), model(x) + shift, atol=1e-9)


@pytest.mark.parametrize("name", ["patchtst", "dlinear"])
def test_channel_independent_models_treat_every_variable_alike(name):
    """Shared weights, no mixing across variables: permuting the variables permutes the forecasts."""
    model = small(name).double().eval()
    x = torch.randn(2, LOOKBACK, VARS, dtype=torch.float64)
    perm = torch.randperm(VARS)
    with torch.no_grad():
        assert torch.allclose(model(x[..., perm]), model(x)[..., perm], atol=1e-12)


def test_moving_average_by_hand():
    x = torch.tensor([[[1.0, 2.0, 6.0, 3.0]]])
    # kernel 3: the ends repeat once each -> windows (1,1,2) (1,2,6) (2,6,3) (6,3,3)
    assert torch.allclose(moving_average(x, 3), torch.tensor([[[4 / 3, 3.0, 11 / 3, 4.0]]]))


def test_patches_pad_the_end_with_the_last_value():
    model = small("patchtst")
    x = torch.arange(LOOKBACK, dtype=torch.float32)[None, :, None].expand(1, LOOKBACK, VARS)
    patches = model.patches(x)
    assert patches.shape == (VARS, (LOOKBACK + 4 - 8) // 4 + 1, 8)
    assert patches[0, 0].tolist() == list(range(8)) and patches[0, -1].tolist() == [44, 45, 46, 47] + [47] * 4


def test_bad_patch_settings_name_them():
    with pytest.raises(ValueError, match=r"patch_len=64, stride=4: need 1 <= patch_len <= lookback=48"):
        small("patchtst", patch_len=64)


def test_token_axis_variables_mixes_channels_and_patches_does_not():
    """Bi-Mamba+'s two tokenisations: only the channel-mixing one lets one variable's input reach another's
    forecast."""
    x = torch.randn(1, LOOKBACK, VARS, dtype=torch.float64, requires_grad=True)
    for axis, mixes in (("patches", False), ("variables", True)):
        model = small("bimamba_plus", token_axis=axis).double().eval()
        model(x)[0, :, 0].sum().backward()
        reached = x.grad[0, :, 1:].abs().sum() > 0
        assert bool(reached) == mixes, axis
        x.grad = None


def test_sra_decider_mixes_channels_only_when_they_move_together():
    import numpy as np

    from zoo.timeseries import sra_decision
    rng = np.random.default_rng(0)
    base = rng.standard_normal((500, 1)).cumsum(0)
    together = base + 0.1 * rng.standard_normal((500, 4))      # four noisy copies of one walk
    apart = rng.standard_normal((500, 4)).cumsum(0)              # four independent walks
    assert sra_decision(together, 0.6) == "variables" and sra_decision(apart, 0.6) == "patches"
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        sra_decision(together, 1.0)


def test_spearman_is_the_rank_correlation_by_hand():
    import numpy as np

    from zoo.timeseries.sra import spearman
    values = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [4.0, 40.0]])
    # ranks (0,1,2,3) and (0,2,1,3): Pearson of the ranks is 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 12/60
    assert spearman(values)[0, 1] == pytest.approx(0.8)
