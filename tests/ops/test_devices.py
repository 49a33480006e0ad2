"""The CPU-free backends follow their inputs' device. On `meta` tensors (shapes only, no data) any buffer
made on the CPU and mixed in fails, so these run in CI what a CUDA or MPS device would need; the `gpu`
tests run the same backends on a real CUDA device against the oracle on the CPU."""
from functools import partial

import pytest

from zoo.ops import selective_scan, ssd

from .cases import SCAN_FLAGS, SSD_FLAGS, assert_close, on, outputs_and_grads, scan_inputs, ssd_inputs


def scan(backend, reverse, **kw):
    return selective_scan(**kw, reverse=reverse, return_last_state=True, backend=backend)


def run_ssd(backend, reverse, **kw):
    return ssd(**kw, chunk_size=8, reverse=reverse, return_final_states=True, backend=backend)


def assert_on_meta(result: dict, inputs: dict):
    for name, t in result.items():
        assert t is not None and t.device.type == "meta", f"{name} is on {None if t is None else t.device}"
        if name.startswith("grad "):
            assert t.shape == inputs[name[5:]].shape, name


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", [(), SCAN_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("backend", ["naive", "chunked"])
def test_selective_scan_forward_and_backward_on_meta(backend, flags, reverse):
    kw = on(scan_inputs(batch=2, dim=6, dstate=3, seqlen=300, groups=2, flags=flags), "meta")
    assert_on_meta(outputs_and_grads(partial(scan, backend, reverse), kw), kw)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("flags", [(), SSD_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("backend", ["naive", "chunked"])
def test_ssd_forward_and_backward_on_meta(backend, flags, reverse):
    kw = on(ssd_inputs(seqlen=37, flags=flags), "meta")
    assert_on_meta(outputs_and_grads(partial(run_ssd, backend, reverse), kw), kw)


@pytest.mark.gpu
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_chunked_on_cuda_matches_the_oracle(reverse):
    kw = scan_inputs(batch=2, dim=6, dstate=3, seqlen=300, groups=2, flags=SCAN_FLAGS)
    assert_close(outputs_and_grads(partial(scan, "chunked", reverse), on(kw, "cuda")),
                 outputs_and_grads(partial(scan, "naive", reverse), kw))
    kw = ssd_inputs(seqlen=37, flags=SSD_FLAGS)
    assert_close(outputs_and_grads(partial(run_ssd, "chunked", reverse), on(kw, "cuda")),
                 outputs_and_grads(partial(run_ssd, "naive", reverse), kw))


@pytest.mark.gpu
def test_auto_on_cuda_runs_on_cuda():
    out = selective_scan(**on(scan_inputs(seqlen=40, flags=SCAN_FLAGS), "cuda"))
    assert out.device.type == "cuda"
