import os

import torch

# The Triton interpreter must be chosen before triton (or a kernel module) is imported. On a CUDA
# machine the kernels are compiled for the GPU instead (the `gpu` tests); TRITON_INTERPRET=1 there
# runs the interpreted `triton` tests in place of them.
CUDA = torch.cuda.is_available()
INTERPRETED = os.environ.setdefault("TRITON_INTERPRET", "0" if CUDA else "1") == "1"

import pytest  # noqa: E402

from zoo.ops import alloc  # noqa: E402


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords and not (CUDA and not INTERPRETED):
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device (and TRITON_INTERPRET unset)"))
        if "triton" in item.keywords and not INTERPRETED:
            item.add_marker(pytest.mark.skip(reason="interpreted kernels: run with TRITON_INTERPRET=1"))


@pytest.fixture(params=[pytest.param("cpu", marks=pytest.mark.triton), pytest.param("cuda", marks=pytest.mark.gpu)])
def kernel_device(request):
    """Where the Triton kernel tests run: the CPU under the interpreter, or a real GPU."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def nan_filled_buffers(monkeypatch):
    monkeypatch.setattr(alloc, "FILL_NAN", True)
    torch.manual_seed(0)
