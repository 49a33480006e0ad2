import os

# The Triton interpreter must be chosen before triton (or a kernel module) is imported.
os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from zoo.ops import alloc  # noqa: E402


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def nan_filled_buffers(monkeypatch):
    monkeypatch.setattr(alloc, "FILL_NAN", True)
    torch.manual_seed(0)
