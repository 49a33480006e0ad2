"""ssd's CPU backends against the sequential oracle, and SSD as a special case of the selective scan.
(The Triton backend has the same checks in test_ssd_triton.py, under the `triton` marker.)"""
from functools import partial

import pytest
import torch

from zoo.ops import selective_scan, ssd, ssd_step

from .cases import CPU_FAST, SSD_FLAGS, assert_close, outputs_and_grads, ssd_inputs


def run(backend, chunk_size=8, reverse=False, **kw):
    return ssd(**kw, chunk_size=chunk_size, return_final_states=True, reverse=reverse, backend=backend)


def compare(kw, chunk_size=8, dtype=torch.float32, reverse=False, backend="chunked"):
    got = outputs_and_grads(partial(run, backend, chunk_size, reverse), kw)
    want = outputs_and_grads(partial(run, "naive", chunk_size, reverse), kw)
    assert_close(got, want, dtype)


SHAPES = {
    "L1-N1-batch1": dict(batch=1, seqlen=1, nheads=2, headdim=3, dstate=1, ngroups=1),
    "L37-odd": dict(batch=2, seqlen=37, nheads=4, headdim=3, dstate=5, ngroups=2),
    "L16-exact-chunks": dict(batch=1, seqlen=16, nheads=2, headdim=5, dstate=4, ngroups=2),
}


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", [(), SSD_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_matches_naive(backend, shape, flags, reverse):
    compare(ssd_inputs(**shape, flags=flags), reverse=reverse, backend=backend)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flag", SSD_FLAGS)
@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_matches_naive_each_flag(backend, flag, reverse):
    compare(ssd_inputs(seqlen=29, flags=(flag,)), reverse=reverse, backend=backend)


@pytest.mark.parametrize("backend", CPU_FAST)
def test_fast_backend_crosses_checkpoints_with_wide_heads(backend):
    """Longer than two of the fused kernel's checkpoint blocks, with headdim and dstate of a real layer."""
    compare(ssd_inputs(batch=1, seqlen=70, nheads=4, headdim=16, dstate=16, ngroups=2, flags=SSD_FLAGS),
            backend=backend)


@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_reverse_equals_flipped_forward(backend):
    kw = ssd_inputs(seqlen=30, flags=("D", "z", "dt_bias", "dt_softplus"))
    flipped = {k: v.flip(1) if torch.is_tensor(v) and v.dim() >= 3 else v for k, v in kw.items()}
    y_rev, state_rev = run(backend, reverse=True, **kw)
    y_flip, state_flip = run(backend, **flipped)
    torch.testing.assert_close(y_rev, y_flip.flip(1))
    torch.testing.assert_close(state_rev, state_flip)


@pytest.mark.parametrize("backend", CPU_FAST)
def test_per_channel_D(backend):
    compare(ssd_inputs(flags=("D",), D_per_channel=True), backend=backend)


@pytest.mark.parametrize("chunk_size", [1, 5, 64])
def test_result_does_not_depend_on_chunk_size(chunk_size):
    kw = ssd_inputs(seqlen=33)
    assert_close(outputs_and_grads(partial(run, "chunked", chunk_size), kw),
                 outputs_and_grads(partial(run, "chunked", 8), kw))


@pytest.mark.parametrize("backend", CPU_FAST)
def test_gradcheck_float64(backend):
    kw = ssd_inputs(batch=1, seqlen=11, nheads=2, headdim=2, dstate=2, ngroups=1, dtype=torch.float64, seed=3)
    names = [k for k, v in kw.items() if torch.is_tensor(v)]

    def f(*tensors):
        return run(backend, 4, **dict(kw, **dict(zip(names, tensors))))

    assert torch.autograd.gradcheck(f, tuple(kw[k].clone().requires_grad_() for k in names), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", CPU_FAST)
def test_half_precision_inputs(backend, dtype):
    kw = ssd_inputs(seqlen=24, dtype=dtype)
    y, state = run(backend, **kw)
    assert y.dtype == dtype and state.dtype == torch.float32
    compare(kw, dtype=dtype, backend=backend)


@pytest.mark.parametrize("backend", CPU_FAST)
def test_long_sequence_large_dt_is_stable(backend):
    kw = ssd_inputs(batch=1, seqlen=16384, nheads=2, headdim=2, dstate=2, ngroups=1, flags=("D",),
                    dtype=torch.float64, dt_scale=50.0)
    compare(kw, chunk_size=256, dtype=torch.float64, backend=backend)
    y32, state32 = run(backend, 256, **{k: v.float() if torch.is_tensor(v) else v for k, v in kw.items()})
    assert torch.isfinite(y32).all() and torch.isfinite(state32).all()


def test_step_token_by_token_equals_parallel():
    kw = ssd_inputs(seqlen=19)
    y, final = run("chunked", **kw)
    state, steps = kw["initial_states"], []
    for t in range(19):
        y_t, state = ssd_step(state, kw["x"][:, t], kw["dt"][:, t], kw["A"], kw["B"][:, t], kw["C"][:, t],
                              kw["D"], kw["z"][:, t], kw["dt_bias"], True)
        steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y, rtol=6e-4, atol=2e-3)
    torch.testing.assert_close(state, final, rtol=6e-4, atol=2e-3)


@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_ssd_is_selective_scan_with_scalar_A_per_head(backend):
    """SSD = the selective scan with channels (head, p), A and dt shared across a head's channels and dstate."""
    kw = ssd_inputs(seqlen=21, nheads=4, headdim=3, dstate=5, ngroups=2)
    b, L, h, p = kw["x"].shape
    per_head = lambda t: t.repeat_interleave(p, dim=-1)  # noqa: E731  (..., h) -> (..., h*p)
    channels = lambda t: t.reshape(b, L, h * p).transpose(1, 2)  # noqa: E731  (b, L, h, p) -> (b, h*p, L)
    y, final = run(backend, **kw)
    out, last = selective_scan(
        channels(kw["x"]), per_head(kw["dt"]).transpose(1, 2), per_head(kw["A"])[:, None].expand(h * p, 5),
        kw["B"].permute(0, 2, 3, 1), kw["C"].permute(0, 2, 3, 1), D=per_head(kw["D"]), z=channels(kw["z"]),
        delta_bias=per_head(kw["dt_bias"]), delta_softplus=True,
        initial_state=kw["initial_states"].reshape(b, h * p, 5), return_last_state=True, backend=backend)
    torch.testing.assert_close(out, channels(y), rtol=6e-4, atol=2e-3)
    torch.testing.assert_close(last, final.reshape(b, h * p, 5), rtol=6e-4, atol=2e-3)
