"""Every CPU backend of selective_scan against the sequential oracle, plus the identities it must satisfy.
(The Triton backend has the same checks in test_selective_scan_triton.py, under the `triton` marker.)"""
from functools import partial

import pytest
import torch

from zoo.ops import selective_scan, selective_scan_step

from .cases import CPU_FAST, SCAN_FLAGS, assert_close, differentiable, outputs_and_grads, per_token, scan_inputs


def run(backend, reverse=False, **kw):
    return selective_scan(**kw, return_last_state=True, reverse=reverse, backend=backend)


def compare(kw, reverse=False, backend="chunked", dtype=torch.float32):
    got = outputs_and_grads(partial(run, backend, reverse), kw)
    want = outputs_and_grads(partial(run, "naive", reverse), kw)
    assert_close(got, want, dtype)


def run_per_token(backend, reverse=False, **kw):
    return run(backend, reverse, **per_token(kw))


SHAPES = {
    "L1-N1-batch1": dict(batch=1, dim=3, dstate=1, seqlen=1),
    "L37-odd": dict(batch=2, dim=5, dstate=3, seqlen=37),
    "L300-grouped-crosses-chunk": dict(batch=1, dim=6, dstate=4, seqlen=300, groups=2),
    "L16-one-subblock": dict(batch=2, dim=7, dstate=2, seqlen=16),
}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("flags", [(), SCAN_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_matches_naive(backend, shape, flags, reverse):
    compare(scan_inputs(**shape, flags=flags), reverse, backend)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("flag", SCAN_FLAGS)
@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_matches_naive_each_flag(backend, flag, reverse):
    compare(scan_inputs(dim=6, seqlen=41, groups=3, flags=(flag,)), reverse, backend)


@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_matches_naive_at_common_state_sizes(backend):
    """The fused kernel has unrolled code for dstate 1, 4, 8, 16 and a general loop for the rest."""
    for dstate in (1, 4, 8, 16, 17):
        compare(scan_inputs(batch=1, dim=4, dstate=dstate, seqlen=130, groups=2), backend=backend)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("flags", [(), SCAN_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("seqlen", [1, 37, 150], ids=["L1", "L37", "L150-crosses-checkpoints"])
@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_time_invariant_B_C_match_the_same_vectors_per_token(backend, seqlen, flags, reverse):
    """(dim, dstate) B and C against the oracle given them written out for every token and batch row:
    the outputs, and gradients of B and C summed over batch and time."""
    kw = scan_inputs(dim=6, dstate=4, seqlen=seqlen, flags=flags, invariant=True)
    got = outputs_and_grads(partial(run, backend, reverse), kw)
    want = outputs_and_grads(partial(run_per_token, "naive", reverse), kw)
    assert got["grad B"].shape == (6, 4)
    assert_close(got, want)


@pytest.mark.parametrize("invariant", [False, True], ids=["per-token", "time-invariant"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("backend", CPU_FAST)
def test_gradcheck_float64(backend, reverse, invariant):
    kw = scan_inputs(batch=1, dim=3, dstate=2, seqlen=20, dtype=torch.float64, seed=3, invariant=invariant)
    names = [k for k, v in kw.items() if torch.is_tensor(v)]

    def f(*tensors):
        return run(backend, reverse, **dict(kw, **dict(zip(names, tensors))))

    inputs = tuple(kw[k].clone().requires_grad_() for k in names)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", CPU_FAST)
def test_half_precision_inputs(backend, dtype):
    kw = scan_inputs(seqlen=40, dtype=dtype)
    out, state = run(backend, **kw)
    assert out.dtype == dtype and state.dtype == torch.float32
    compare(kw, backend=backend, dtype=dtype)


@pytest.mark.parametrize("backend", CPU_FAST)
def test_long_sequence_large_dt_is_stable(backend):
    kw = scan_inputs(batch=1, dim=2, dstate=2, seqlen=16384, flags=("D",), dtype=torch.float64, dt_scale=50.0)
    compare(kw, backend=backend, dtype=torch.float64)
    out32, state32 = run(backend, **{k: v.float() if torch.is_tensor(v) else v for k, v in kw.items()})
    assert torch.isfinite(out32).all() and torch.isfinite(state32).all()


@pytest.mark.parametrize("backend", CPU_FAST)
def test_reverse_equals_flipped_forward(backend):
    kw = scan_inputs(seqlen=50, flags=("D", "z", "delta_bias", "delta_softplus"))
    flipped = {k: v.flip(-1) if torch.is_tensor(v) and v.shape[-1] == 50 else v for k, v in kw.items()}
    out_rev, state_rev = run(backend, reverse=True, **kw)
    out_flip, state_flip = run(backend, **flipped)
    torch.testing.assert_close(out_rev, out_flip.flip(-1))
    torch.testing.assert_close(state_rev, state_flip)


def test_step_token_by_token_equals_parallel():
    kw = scan_inputs(dim=6, seqlen=23, groups=2)
    out, last = run("chunked", **kw)
    state = kw["initial_state"]
    steps = []
    for t in range(23):
        y, state = selective_scan_step(state, kw["u"][..., t], kw["delta"][..., t], kw["A"], kw["B"][..., t],
                                       kw["C"][..., t], kw["D"], kw["z"][..., t], kw["delta_bias"], True)
        steps.append(y)
    torch.testing.assert_close(torch.stack(steps, -1), out, rtol=6e-4, atol=2e-3)
    torch.testing.assert_close(state, last, rtol=6e-4, atol=2e-3)


@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_non_contiguous_inputs_match_contiguous(backend):
    kw = scan_inputs(seqlen=30, groups=1)
    strided = {k: v.transpose(-1, -2).contiguous().transpose(-1, -2) if torch.is_tensor(v) and v.dim() >= 3 else v
               for k, v in kw.items()}
    assert not strided["u"].is_contiguous()
    torch.testing.assert_close(run(backend, **strided)[0], run(backend, **kw)[0])


@pytest.mark.parametrize("backend", CPU_FAST)
def test_double_backward_is_refused(backend):
    """The fast backwards are hand-written and not differentiable: asking for a second derivative must
    fail, not return one computed as if the first backward were a constant."""
    kw = differentiable(scan_inputs(seqlen=20))
    (gu,) = torch.autograd.grad((run(backend, **kw)[0] ** 2).sum(), kw["u"], create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        gu.sum().backward()
