"""ssd's Triton backend against the sequential oracle: outputs, final states and the gradient of every
input. Each test runs on the CPU under the Triton interpreter (`triton`) and on a GPU (`gpu`)."""
from functools import partial

import pytest
import torch

from zoo.ops import dispatch, ssd

from .cases import SSD_FLAGS, assert_close, differentiable, double, on, outputs_and_grads, ssd_inputs


def run(backend, chunk_size=8, reverse=False, **kw):
    return ssd(**kw, chunk_size=chunk_size, return_final_states=True, reverse=reverse, backend=backend)


def compare(kw, device, chunk_size=8, dtype=torch.float32, reverse=False):
    got = outputs_and_grads(partial(run, "triton", chunk_size, reverse), on(kw, device))
    assert dispatch.last_backend("ssd") == "triton"
    want = outputs_and_grads(partial(run, "naive", chunk_size, reverse), kw)
    assert_close(got, want, dtype)


SHAPES = {
    "L1-N1-batch1": (dict(batch=1, seqlen=1, nheads=2, headdim=3, dstate=1, ngroups=1), 8),
    "L37-odd-chunks": (dict(batch=2, seqlen=37, nheads=4, headdim=3, dstate=5, ngroups=2), 8),
    "L16-exact-chunks": (dict(batch=1, seqlen=16, nheads=2, headdim=5, dstate=4, ngroups=2), 4),
    "chunk-over-seqlen": (dict(batch=2, seqlen=9, nheads=2, headdim=8, dstate=8, ngroups=1), 16),
    "L23-headdim7": (dict(batch=1, seqlen=23, nheads=3, headdim=7, dstate=2, ngroups=1), 5),
    "chunk-over-MAX_CHUNK": (dict(batch=1, seqlen=70, nheads=2, headdim=3, dstate=2, ngroups=1), 100),
}


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", [(), SSD_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_triton_matches_naive(shape, flags, reverse, kernel_device):
    dims, chunk_size = shape
    compare(ssd_inputs(**dims, flags=flags), kernel_device, chunk_size, reverse=reverse)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flag", SSD_FLAGS)
def test_each_optional_input_alone(flag, reverse, kernel_device):
    compare(ssd_inputs(seqlen=19, flags=(flag,)), kernel_device, reverse=reverse)


def test_per_channel_D(kernel_device):
    compare(ssd_inputs(seqlen=21, flags=("D", "z"), D_per_channel=True), kernel_device)


def test_positive_A_does_not_grow_the_state(kernel_device):
    """exp(min(dt A, 0)): where dt A > 0 the decay is 1 and A and dt get no gradient through it."""
    kw = ssd_inputs(seqlen=17, nheads=4, flags=("D", "initial_states"))
    kw["A"] = torch.tensor([-0.5, 0.3, -1.2, 0.8])
    compare(kw, kernel_device)


@pytest.mark.parametrize("only", ["out", "state"])
def test_gradient_from_one_output_only(only, kernel_device):
    """A gradient arriving on y alone or on final_states alone (the other one unused)."""
    def grads(backend, device):
        kw = {k: v.to(device).requires_grad_() if torch.is_tensor(v) else v for k, v in ssd_inputs(seqlen=14).items()}
        out, state = run(backend, 4, **kw)
        (out if only == "out" else state).sum().backward()  # sum's gradient is a stride-0 expanded tensor
        # an input the used output does not depend on (C, D, z for the state) gets None or zeros
        return {k: torch.zeros_like(v) if v.grad is None else v.grad for k, v in kw.items() if torch.is_tensor(v)}

    got, want = grads("triton", kernel_device), grads("naive", "cpu")
    assert_close(got, want)
    assert got["initial_states"].abs().sum() > 0


def test_non_contiguous_inputs(kernel_device):
    kw = on(ssd_inputs(batch=2, seqlen=13, nheads=4, headdim=3, dstate=5, ngroups=2), kernel_device)
    strided = dict(kw)
    for name in ("x", "z"):  # every other channel of a wider, time-major tensor
        wide = torch.randn(kw[name].shape[1], kw[name].shape[0], 4, 6, device=kernel_device).transpose(0, 1)
        wide[..., ::2] = kw[name]
        strided[name] = wide[..., ::2]
    for name in ("B", "C", "initial_states"):
        strided[name] = kw[name].transpose(-1, -2).contiguous().transpose(-1, -2)
    strided["dt"] = kw["dt"].transpose(0, 1).contiguous().transpose(0, 1)
    strided["D"] = torch.stack([kw["D"], kw["D"]], 1)[:, 1]
    assert not any(strided[k].is_contiguous() for k in ("x", "z", "B", "C", "dt", "initial_states", "D"))
    assert_close(outputs_and_grads(partial(run, "triton", 4), strided),
                 outputs_and_grads(partial(run, "naive", 4), on(kw, "cpu")))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_half_precision_inputs(dtype, kernel_device):
    kw = ssd_inputs(seqlen=24, dtype=dtype)
    y, state = run("triton", **on(kw, kernel_device))
    assert y.dtype == dtype and state.dtype == torch.float32
    compare(kw, kernel_device, dtype=dtype)


@pytest.mark.parametrize("chunk_size", [1, 5, 16, 64])
def test_result_does_not_depend_on_chunk_size(chunk_size, kernel_device):
    kw = on(ssd_inputs(seqlen=33, nheads=2, ngroups=1), kernel_device)
    assert_close(outputs_and_grads(partial(run, "triton", chunk_size), kw),
                 outputs_and_grads(partial(run, "triton", 8), kw))


def test_large_dt_is_stable(kernel_device):
    """dt up to 50 after softplus (beyond its linear threshold): decays underflow to 0, nothing overflows."""
    kw = ssd_inputs(batch=1, seqlen=40, nheads=2, headdim=3, dstate=4, ngroups=1, dt_scale=50.0,
                    dtype=torch.float64)
    y, state = run("triton", 16, **on(kw, kernel_device))
    assert state.dtype == torch.float64 and torch.isfinite(y).all() and torch.isfinite(state).all()
    f32 = {k: v.float() if torch.is_tensor(v) else v for k, v in kw.items()}
    got = outputs_and_grads(partial(run, "triton", 16), on(f32, kernel_device))
    assert all(torch.isfinite(v).all() for v in got.values())
    want = outputs_and_grads(partial(run, "naive", 16), kw)
    assert_close(got, {k: v.float() for k, v in want.items()})


def test_a_large_step_does_not_blur_the_small_steps_after_it(kernel_device):
    """One step of dt A = -1e5 and then small ones in the same chunk. Decays taken as differences of a
    running sum (cum[l] - cum[s], both near -1e5, where float32's spacing is 0.008) lose the small
    steps' digits; sums of the spanned steps keep them."""
    kw = ssd_inputs(batch=1, seqlen=40, nheads=2, headdim=3, dstate=4, ngroups=1, flags=("initial_states",))
    kw["A"] = torch.tensor([-1.0, -0.5])
    kw["dt"] = torch.full_like(kw["dt"], 0.01)
    kw["dt"][:, 3] = 1e5
    f64 = double(kw)
    got = outputs_and_grads(partial(run, "triton", 64), on(kw, kernel_device))
    want = outputs_and_grads(partial(run, "naive", 64), f64)
    assert_close(got, want)


def test_long_sequence_large_dt_matches_the_float64_oracle(kernel_device):
    """1024 steps, dt up to 50: many chunks of underflowing decays, every gradient still the oracle's."""
    kw = ssd_inputs(batch=1, seqlen=1024, nheads=2, headdim=2, dstate=2, ngroups=1, dt_scale=50.0,
                    flags=("D", "initial_states"))
    f64 = double(kw)
    assert_close(outputs_and_grads(partial(run, "triton", 64), on(kw, kernel_device)),
                 outputs_and_grads(partial(run, "naive", 64), f64))


def test_double_backward_is_refused(kernel_device):
    kw = differentiable(on(ssd_inputs(seqlen=9), kernel_device))
    # a loss whose gradient depends on the output, so the first backward is part of the graph
    (gx,) = torch.autograd.grad((run("triton", **kw)[0] ** 2).sum(), kw["x"], create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        gx.sum().backward()
