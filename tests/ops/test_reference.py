"""Every backend against the independent oracles of zoo.ops.*.reference (the closed form of the selective
scan, the matrix form of SSD), which share no code with `naive`: outputs, states and every gradient.
CPU backends in float64; Triton (which computes in float32) on float32 inputs at float32 tolerance,
under the interpreter (`triton`) or on a GPU (`gpu`)."""
from functools import partial

import pytest
import torch

from zoo.ops import selective_scan, ssd
from zoo.ops.selective_scan.reference import selective_scan_reference
from zoo.ops.ssd.reference import ssd_reference

from .cases import CPU_FAST, SCAN_FLAGS, SSD_FLAGS, assert_close, on, outputs_and_grads, scan_inputs, ssd_inputs

FLAG_SETS = {"plain": (), "all-flags": SCAN_FLAGS}
SSD_FLAG_SETS = {"plain": (), "all-flags": SSD_FLAGS}


def scan(backend, reverse, **kw):
    return selective_scan(**kw, reverse=reverse, return_last_state=True, backend=backend)


def run_ssd(backend, reverse, **kw):
    return ssd(**kw, chunk_size=8, reverse=reverse, return_final_states=True, backend=backend)


def check_scan(kw, backend, reverse, device="cpu", dtype=torch.float64):
    got = outputs_and_grads(partial(scan, backend, reverse), on(kw, device))
    want = outputs_and_grads(partial(selective_scan_reference, reverse=reverse), kw)
    assert_close(got, {k: v.to(dtype) for k, v in want.items()}, dtype)


def check_ssd(kw, backend, reverse, device="cpu", dtype=torch.float64):
    got = outputs_and_grads(partial(run_ssd, backend, reverse), on(kw, device))
    want = outputs_and_grads(partial(ssd_reference, reverse=reverse), kw)
    assert_close(got, {k: v.to(dtype) for k, v in want.items()}, dtype)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", FLAG_SETS.values(), ids=FLAG_SETS.keys())
@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_selective_scan_float64(backend, flags, reverse):
    check_scan(scan_inputs(batch=2, dim=6, dstate=3, seqlen=41, groups=2, flags=flags, dtype=torch.float64),
               backend, reverse)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", SSD_FLAG_SETS.values(), ids=SSD_FLAG_SETS.keys())
@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_ssd_float64(backend, flags, reverse):
    check_ssd(ssd_inputs(seqlen=29, flags=flags, dtype=torch.float64), backend, reverse)


@pytest.mark.parametrize("backend", ["naive", *CPU_FAST])
def test_large_dt_float64(backend):
    check_scan(scan_inputs(batch=1, dim=3, dstate=2, seqlen=64, flags=SCAN_FLAGS, dtype=torch.float64,
                           dt_scale=50.0), backend, False)
    check_ssd(ssd_inputs(batch=1, seqlen=64, nheads=2, ngroups=1, flags=SSD_FLAGS, dtype=torch.float64,
                         dt_scale=50.0), backend, True)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_triton_selective_scan(reverse, kernel_device):
    check_scan(scan_inputs(batch=2, dim=6, dstate=3, seqlen=41, groups=2, flags=SCAN_FLAGS), "triton", reverse,
               kernel_device, torch.float32)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_triton_ssd(reverse, kernel_device):
    check_ssd(ssd_inputs(seqlen=29, flags=SSD_FLAGS), "triton", reverse, kernel_device, torch.float32)


def test_the_oracles_agree_with_each_other():
    """SSD is the selective scan with one A per head: the two independent oracles must agree."""
    kw = ssd_inputs(seqlen=21, nheads=4, headdim=3, dstate=5, ngroups=2, dtype=torch.float64, flags=SSD_FLAGS)
    b, L, h, p = kw["x"].shape
    per_head = lambda t: t.repeat_interleave(p, dim=-1)  # noqa: E731  (..., h) -> (..., h*p)
    channels = lambda t: t.reshape(b, L, h * p).transpose(1, 2)  # noqa: E731
    y, final = ssd_reference(**kw)
    out, last = selective_scan_reference(
        channels(kw["x"]), per_head(kw["dt"]).transpose(1, 2), per_head(kw["A"])[:, None].expand(h * p, 5),
        kw["B"].permute(0, 2, 3, 1), kw["C"].permute(0, 2, 3, 1), D=per_head(kw["D"]), z=channels(kw["z"]),
        delta_bias=per_head(kw["dt_bias"]), delta_softplus=True,
        initial_state=kw["initial_states"].reshape(b, h * p, 5), mask=kw["mask"])
    torch.testing.assert_close(out, channels(y))
    torch.testing.assert_close(last, final.reshape(b, h * p, 5))
