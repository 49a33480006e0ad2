"""The Triton kernels compiled for a real GPU (run with `make test-gpu`; skipped without CUDA)."""
from functools import partial

import pytest
import torch

from zoo.ops import dispatch, selective_scan, ssd

from .cases import SCAN_FLAGS, SSD_FLAGS, assert_close, outputs_and_grads, scan_inputs, ssd_inputs

pytestmark = pytest.mark.gpu


def on_cuda(kw):
    return {k: v.cuda() if torch.is_tensor(v) else v for k, v in kw.items()}


def test_auto_picks_triton_on_cuda():
    assert dispatch.resolve("selective_scan", "auto", torch.device("cuda")) == "triton"
    assert dispatch.resolve("ssd", "auto", torch.device("cuda")) == "triton"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seqlen", [1, 257, 2049])
def test_selective_scan_triton_matches_naive(seqlen, reverse, dtype):
    kw = on_cuda(scan_inputs(batch=2, dim=96, dstate=16, seqlen=seqlen, groups=2, flags=SCAN_FLAGS, dtype=dtype))
    run = lambda backend, **k: selective_scan(**k, return_last_state=True, reverse=reverse, backend=backend)  # noqa
    assert_close(outputs_and_grads(partial(run, "triton"), kw), outputs_and_grads(partial(run, "naive"), kw), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("seqlen", [1, 257, 1000])
def test_ssd_triton_matches_naive(seqlen, dtype):
    kw = on_cuda(ssd_inputs(batch=2, seqlen=seqlen, nheads=8, headdim=64, dstate=64, ngroups=2, flags=SSD_FLAGS,
                            dtype=dtype))
    run = lambda backend, **k: ssd(**k, chunk_size=64, return_final_states=True, backend=backend)  # noqa
    assert_close(outputs_and_grads(partial(run, "triton"), kw), outputs_and_grads(partial(run, "naive"), kw), dtype)
