"""backend='auto' picks what really runs, the override is honoured, and the backend that ran is recorded."""
import pytest
import torch

from zoo.ops import backends_used, dispatch, last_backend, selective_scan, ssd

from .cases import scan_inputs, ssd_inputs


@pytest.fixture(autouse=True)
def clean_dispatch(monkeypatch):
    monkeypatch.delenv(dispatch.ENV_VAR, raising=False)
    monkeypatch.setattr(dispatch, "_probe_results", {})
    dispatch.reset_backend_log()


def test_auto_on_cpu_is_chunked_and_recorded():
    selective_scan(**scan_inputs(seqlen=5))
    ssd(**ssd_inputs(seqlen=5), chunk_size=4)
    assert last_backend("selective_scan") == "chunked" and last_backend("ssd") == "chunked"
    assert backends_used() == {"selective_scan": {"chunked": 1}, "ssd": {"chunked": 1}}


def test_environment_override(monkeypatch):
    monkeypatch.setenv(dispatch.ENV_VAR, "naive")
    selective_scan(**scan_inputs(seqlen=5))
    assert last_backend("selective_scan") == "naive"
    selective_scan(**scan_inputs(seqlen=5), backend="chunked")  # an explicit choice beats the environment
    assert backends_used()["selective_scan"] == {"naive": 1, "chunked": 1}


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(dispatch.ENV_VAR, "fastest")
    with pytest.raises(ValueError, match=r"MAMBAZOO_SCAN_BACKEND=fastest"):
        selective_scan(**scan_inputs(seqlen=5))


def test_triton_without_device_or_interpreter_is_refused_not_imported(monkeypatch):
    monkeypatch.setattr(dispatch.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match=r"asked for Triton, but it cannot run: .*CUDA device"):
        selective_scan(**scan_inputs(seqlen=5), backend="triton")


def test_auto_skips_triton_when_its_probe_fails(monkeypatch):
    """Importing triton is not enough: a kernel that fails to launch sends auto to chunked."""
    def broken(op, backend):
        raise RuntimeError("no kernel for you")
    monkeypatch.setattr(dispatch.importlib.util, "find_spec", lambda name: object())  # a module that exists
    monkeypatch.setattr(dispatch, "backend_module", lambda op, backend: broken(op, backend)
                        if backend == "triton" else __import__(f"zoo.ops.{op}.{backend}", fromlist=["scan"]))
    works, why = dispatch.triton_status("selective_scan", torch.device("cpu"))
    assert not works and "no kernel for you" in why
    assert dispatch.resolve("selective_scan", "auto", torch.device("cuda")) == "chunked"


def test_missing_triton_package_is_named_plainly(monkeypatch):
    monkeypatch.setattr(dispatch.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match=r"triton package is not installed .*mambazoo\[triton\]"):
        ssd(**ssd_inputs(seqlen=5), chunk_size=4, backend="triton")
