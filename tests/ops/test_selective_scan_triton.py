"""selective_scan's Triton backend against the sequential oracle: outputs, last states and the gradient
of every input. Each test runs on the CPU under the Triton interpreter (`triton`) and on a GPU (`gpu`)."""
from functools import partial

import pytest
import torch

from zoo.ops import dispatch, selective_scan
from zoo.ops.selective_scan import triton as scan_triton

from .cases import SCAN_FLAGS, assert_close, differentiable, on, outputs_and_grads, per_token, scan_inputs


def run(backend, reverse=False, **kw):
    return selective_scan(**kw, return_last_state=True, reverse=reverse, backend=backend)


def compare(kw, device, reverse=False, dtype=torch.float32, want_kw=None):
    got = outputs_and_grads(partial(run, "triton", reverse), on(kw, device))
    assert dispatch.last_backend("selective_scan") == "triton"
    want = outputs_and_grads(partial(run, "naive", reverse), kw if want_kw is None else want_kw)
    assert_close(got, want, dtype)


# BLOCK_T is 16: seqlen 37 and 40 end inside a block, 16 is exactly one
SHAPES = {
    "L1-N1-batch1": dict(batch=1, dim=3, dstate=1, seqlen=1),
    "L37-odd": dict(batch=2, dim=5, dstate=3, seqlen=37),
    "L40-grouped": dict(batch=1, dim=6, dstate=4, seqlen=40, groups=2),
    "L16-one-block": dict(batch=2, dim=7, dstate=2, seqlen=16),
}


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", [(), SCAN_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_triton_matches_naive(shape, flags, reverse, kernel_device):
    compare(scan_inputs(**shape, flags=flags), kernel_device, reverse)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_time_invariant_B_C(reverse, kernel_device):
    kw = scan_inputs(dim=6, dstate=4, seqlen=37, flags=SCAN_FLAGS, invariant=True)
    got = outputs_and_grads(partial(run, "triton", reverse), on(kw, kernel_device))
    want = outputs_and_grads(lambda **k: run("naive", reverse, **per_token(k)), kw)
    assert_close(got, want)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flag", SCAN_FLAGS)
def test_each_optional_input_alone(flag, reverse, kernel_device):
    compare(scan_inputs(batch=1, dim=6, dstate=2, seqlen=23, groups=3, flags=(flag,)), kernel_device, reverse)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_many_channel_blocks_and_time_blocks(monkeypatch, reverse, kernel_device):
    """Small tiles: several channel blocks per group (dB and dC summed over their partials, the last
    block half empty) and many time blocks, so every carry between blocks is exercised."""
    monkeypatch.setattr(scan_triton, "BLOCK_T", 4)
    monkeypatch.setattr(scan_triton, "TILE_BUDGET", 32)  # dstate 3 -> 4, 4 steps: 2 channels a block
    assert scan_triton._blocks(seqlen=30, dim_per_group=5, dstate=3) == (2, 4, 4, 3, 8)
    compare(scan_inputs(batch=2, dim=10, dstate=3, seqlen=30, groups=2), kernel_device, reverse)


def test_positive_A_and_zero_dt_follow_the_clamp(kernel_device):
    """exp(min(dt A, 0)): where dt A > 0 the decay is 1 and no gradient flows through it; at dt A = 0
    exactly it does (torch.clamp's backward), as in the oracle."""
    kw = scan_inputs(batch=1, dim=4, dstate=3, seqlen=19, flags=("D", "initial_state"))
    kw["A"][1] = kw["A"][1].abs()
    kw["A"][2, 0] = 0.7
    kw["delta"][0, 3, 5:9] = 0.0
    compare(kw, kernel_device)
    compare(kw, kernel_device, reverse=True)


@pytest.mark.parametrize("passes", [False, True])
def test_either_kink_convention_agrees_away_from_the_kink(monkeypatch, passes, kernel_device):
    """The gradient rule at dt A == 0 exactly follows the oracle's decay (torch.clamp's subgradient,
    which depends on the torch version). Padded steps past seqlen have dt = 0: with either rule they
    must add nothing, so without exact zeros in the input both rules give the oracle's gradients."""
    monkeypatch.setattr(scan_triton, "decay_grad_at_kink", lambda: passes)
    compare(scan_inputs(batch=2, dim=4, dstate=3, seqlen=21, flags=SCAN_FLAGS), kernel_device)


def test_tiny_dt_keeps_relative_accuracy(kernel_device):
    """softplus of a very negative input is tiny but not 0 (log(1 + e) would round it to 0 in float32)."""
    kw = scan_inputs(batch=1, dim=3, dstate=2, seqlen=9, flags=("delta_bias", "delta_softplus"))
    kw["delta_bias"] = torch.tensor([-18.0, -25.0, -12.0])
    got, want = run("triton", **on(kw, kernel_device))[1].cpu(), run("naive", **kw)[1]
    assert want.abs().min() > 0
    torch.testing.assert_close(got, want, rtol=1e-4, atol=0)


@pytest.mark.parametrize("only", ["out", "state"])
def test_gradient_from_one_output_only(only, kernel_device):
    """A gradient arriving on out alone or on last_state alone (the other one unused)."""
    def grads(backend, device):
        kw = {k: v.to(device).requires_grad_() if torch.is_tensor(v) else v
              for k, v in scan_inputs(batch=2, dim=4, dstate=3, seqlen=21).items()}
        out, state = run(backend, **kw)
        (out if only == "out" else state).sum().backward()  # sum's gradient is a stride-0 expanded tensor
        # an input the used output does not depend on (C, D, z for the state) gets None or zeros
        return {k: torch.zeros_like(v) if v.grad is None else v.grad for k, v in kw.items() if torch.is_tensor(v)}

    got, want = grads("triton", kernel_device), grads("naive", "cpu")
    assert_close(got, want)
    assert got["initial_state"].abs().sum() > 0


def test_non_contiguous_inputs(kernel_device):
    kw = on(scan_inputs(batch=2, dim=4, dstate=3, seqlen=13, groups=2), kernel_device)
    strided = dict(kw)
    for name in ("u", "delta", "z"):  # every other channel of a wider, time-major tensor
        wide = torch.zeros(2, 13, 8, device=kernel_device).transpose(1, 2)
        wide[:, ::2] = kw[name]
        strided[name] = wide[:, ::2]
    for name in ("B", "C"):
        strided[name] = kw[name].transpose(-1, -2).contiguous().transpose(-1, -2)
    strided["A"] = kw["A"].t().contiguous().t()
    strided["initial_state"] = kw["initial_state"].transpose(0, 1).contiguous().transpose(0, 1)
    strided["D"] = torch.stack([kw["D"], kw["D"]], 1)[:, 1]
    assert not any(strided[k].is_contiguous() for k in ("u", "delta", "z", "B", "C", "A", "initial_state", "D"))
    compare(strided, kernel_device, want_kw=on(kw, "cpu"))


def test_bfloat16_inputs(kernel_device):
    kw = scan_inputs(batch=2, dim=4, dstate=3, seqlen=24, groups=2, dtype=torch.bfloat16)
    out, state = run("triton", **on(kw, kernel_device))
    assert out.dtype == torch.bfloat16 and state.dtype == torch.float32
    compare(kw, kernel_device, dtype=torch.bfloat16)


def test_float64_inputs_give_a_float64_state_at_float32_accuracy(kernel_device):
    kw = scan_inputs(batch=1, dim=3, dstate=2, seqlen=18, dtype=torch.float64)
    got = outputs_and_grads(partial(run, "triton", False), on(kw, kernel_device))
    assert all(v.dtype == torch.float64 for v in got.values())
    assert_close(got, outputs_and_grads(partial(run, "naive", False), kw))


def test_large_dt_is_stable(kernel_device):
    """dt up to 50 after softplus (past its linear threshold): decays underflow to 0, nothing overflows."""
    kw = scan_inputs(batch=1, dim=3, dstate=2, seqlen=33, dt_scale=50.0)
    got = outputs_and_grads(partial(run, "triton", False), on(kw, kernel_device))
    assert all(torch.isfinite(v).all() for v in got.values())
    compare(kw, kernel_device)


def test_forward_without_grad_matches(kernel_device):
    """No gradient wanted: the forward skips its checkpoints and still gives the same result."""
    kw = scan_inputs(batch=2, dim=5, dstate=3, seqlen=20, groups=1)
    with torch.no_grad():
        got, want = run("triton", **on(kw, kernel_device)), run("naive", **kw)
    assert_close({"out": got[0], "state": got[1]}, {"out": want[0], "state": want[1]})


def test_double_backward_is_refused(kernel_device):
    kw = differentiable(on(scan_inputs(seqlen=9), kernel_device))
    # a loss whose gradient depends on the output, so the first backward is part of the graph
    (gu,) = torch.autograd.grad((run("triton", **kw)[0] ** 2).sum(), kw["u"], create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        gu.sum().backward()
