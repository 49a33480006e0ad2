"""backend='auto' picks what really runs, the override is honoured, and the backend that ran is recorded.

On the CPU `auto` takes the compiled C kernels (`fused`) for a combination checked against the oracle. Triton is chosen by `auto` only for a kernel combination checked forward and backward against the oracle:
the tests marked `triton` let `auto` consider the interpreted kernels on the CPU to watch that happen."""
import shutil
from pathlib import Path

import pytest
import torch

from zoo.ops import backends_used, dispatch, fallbacks, fused, last_backend, selective_scan, ssd
from zoo.ops.selective_scan import fused as scan_fused
from zoo.ops.selective_scan import triton as scan_triton
from zoo.ops.ssd import triton as ssd_triton

from .cases import SCAN_FLAGS, SSD_FLAGS, on, scan_inputs, ssd_inputs


@pytest.fixture(autouse=True)
def clean_dispatch(monkeypatch):
    monkeypatch.delenv(dispatch.ENV_VAR, raising=False)
    monkeypatch.setattr(dispatch, "_checked", {})
    monkeypatch.setattr(dispatch, "_available", {})
    dispatch.reset_backend_log()


@pytest.fixture
def checks_fused(monkeypatch):
    """The combinations `auto` checked on the CPU (the fused kernels; skipped where they do not build)."""
    try:
        fused.library()
    except fused.Unavailable as exc:
        pytest.skip(str(exc))
    seen, real = [], dispatch._check

    def counted(op, module, device, call):
        seen.append((op, module.kernel_key(**call)))
        return real(op, module, device, call)
    monkeypatch.setattr(dispatch, "_check", counted)
    return seen


@pytest.fixture
def no_compiler(monkeypatch):
    """A machine where the C kernels cannot be built."""
    monkeypatch.setattr(fused, "_lib", None)
    monkeypatch.setattr(fused, "_error", None)
    monkeypatch.setattr(fused, "cache_dir", lambda: Path("/nonexistent-cache"))
    monkeypatch.setattr(fused.shutil, "which", lambda name: None)
    monkeypatch.delenv("CC", raising=False)


@pytest.fixture
def checks(monkeypatch):
    """`auto` considers Triton on the CPU (interpreted); returns the list of combinations it checked."""
    monkeypatch.setattr(dispatch, "auto_considers_triton", lambda device: True)
    seen, real = [], dispatch._check

    def counted(op, module, device, call):
        seen.append((op, module.kernel_key(**call)))
        return real(op, module, device, call)
    monkeypatch.setattr(dispatch, "_check", counted)
    return seen


def test_auto_on_cpu_is_the_checked_fused_kernel_and_recorded(checks_fused):
    selective_scan(**scan_inputs(seqlen=16))
    ssd(**ssd_inputs(seqlen=5), chunk_size=4)
    assert last_backend("selective_scan") == "fused" and last_backend("ssd") == "fused"
    assert backends_used() == {"selective_scan": {"fused": 1}, "ssd": {"fused": 1}}
    assert fallbacks() == {} and [op for op, _ in checks_fused] == ["selective_scan", "ssd"]


def test_auto_first_met_under_inference_mode_checks_the_kernel_and_keeps_it(checks_fused):
    """Lightning evaluates under inference_mode; a kernel combination first met there (Mamba-2 scored at a
    longer length than it trained on) is checked with gradients on and runs fused, not as a fallback."""
    with torch.inference_mode():
        ssd(**ssd_inputs(seqlen=9), chunk_size=4)
        selective_scan(**scan_inputs(seqlen=16))
    assert last_backend("ssd") == "fused" and last_backend("selective_scan") == "fused"
    assert fallbacks() == {} and [op for op, _ in checks_fused] == ["ssd", "selective_scan"]


def test_auto_on_cpu_computes_an_ssd_of_one_chunk_on_chunked_by_choice(checks_fused):
    ssd(**ssd_inputs(seqlen=16), chunk_size=16)
    assert last_backend("ssd") == "chunked" and fallbacks() == {} and checks_fused == []
    ssd(**ssd_inputs(seqlen=17), chunk_size=16)
    assert last_backend("ssd") == "fused"


def test_the_c_kernels_build_where_a_compiler_exists():
    """Guards the skips in cases.FUSED: on a machine with a C compiler (CI has gcc) the build must work."""
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.skip("no C compiler here")
    fused.library()


def test_an_unwritable_kernel_cache_is_a_reason_not_a_crash(monkeypatch, tmp_path):
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.skip("no C compiler here")
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a file where the cache folder would go
    monkeypatch.setattr(fused, "_lib", None)
    monkeypatch.setattr(fused, "_error", None)
    monkeypatch.setenv("MAMBAZOO_CACHE", str(blocked / "cache"))
    with pytest.raises(fused.Unavailable, match=r"could not be built into .*set MAMBAZOO_CACHE"):
        fused.library()


def test_auto_without_the_c_kernels_falls_back_with_the_reason(no_compiler):
    selective_scan(**scan_inputs(seqlen=16))
    ssd(**ssd_inputs(seqlen=5), chunk_size=4)
    assert last_backend("selective_scan") == "chunked" and last_backend("ssd") == "chunked"
    (reason, calls), = fallbacks()["selective_scan"].items()
    assert "no C compiler found" in reason and calls == 1


def test_without_the_c_kernels_a_sequence_shorter_than_a_chunked_sub_block_runs_sequentially(no_compiler):
    """Chunked pads to 16 steps; naive takes one per token (a forecaster scans 7 variables, or 1 token)."""
    selective_scan(**scan_inputs(seqlen=15))
    assert last_backend("selective_scan") == "naive"


def test_fused_asked_for_where_it_cannot_run_says_why_and_what_can(no_compiler):
    with pytest.raises(RuntimeError, match=r"backend='fused' asked for fused, but it cannot run: no C compiler "
                                           r".*can run selective_scan on cpu: auto, naive, chunked(, triton)?\."):
        selective_scan(**scan_inputs(seqlen=5), backend="fused")


def test_fused_on_another_device_is_refused():
    with pytest.raises(RuntimeError, match=r"compiled C code for the CPU, got meta"):
        selective_scan(**on(scan_inputs(seqlen=5), "meta"), backend="fused")


def test_auto_refuses_a_fused_kernel_whose_backward_is_wrong(checks_fused, monkeypatch):
    real = scan_fused._FusedScan.backward

    def wrong_dB(ctx, dy, dlast):
        du, ddt, dA, dB, *rest = real(ctx, dy, dlast)
        return (du, ddt, dA, dB * 1.5, *rest)
    monkeypatch.setattr(scan_fused._FusedScan, "backward", staticmethod(wrong_dB))
    selective_scan(**scan_inputs(seqlen=20))
    assert last_backend("selective_scan") == "chunked" and len(checks_fused) == 1
    (reason, _), = fallbacks()["selective_scan"].items()
    assert "fused selective_scan kernel disagreed with the oracle" in reason and "grad B" in reason


def test_auto_checks_time_invariant_B_C_as_their_own_kernel_path(checks_fused, monkeypatch):
    """A backward that is wrong only for (dim, dstate) B and C is caught by the check of such a call,
    after the per-token path has passed its own."""
    real = scan_fused._FusedScan.backward

    def wrong_when_invariant(ctx, dy, dlast):
        du, ddt, dA, dB, *rest = real(ctx, dy, dlast)
        return (du, ddt, dA, dB * 1.5 if dB.dim() == 2 else dB, *rest)
    monkeypatch.setattr(scan_fused._FusedScan, "backward", staticmethod(wrong_when_invariant))
    selective_scan(**scan_inputs(seqlen=20))
    assert last_backend("selective_scan") == "fused"
    selective_scan(**scan_inputs(seqlen=20, invariant=True))
    assert last_backend("selective_scan") == "chunked" and len(checks_fused) == 2
    (reason, _), = fallbacks()["selective_scan"].items()
    assert "grad B" in reason


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
    with pytest.raises(RuntimeError, match=r"asked for triton, but it cannot run: .*CUDA device"):
        selective_scan(**scan_inputs(seqlen=5), backend="triton")


def test_auto_falls_back_with_the_reason_when_triton_cannot_load(monkeypatch):
    """Importing triton is not enough: a kernel module that fails sends auto to chunked, logged and counted."""
    def broken(op, backend):
        if backend == "triton":
            raise RuntimeError("no kernel for you")
        return __import__(f"zoo.ops.{op}.{backend}", fromlist=["scan"])
    monkeypatch.setattr(dispatch.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(dispatch, "backend_module", broken)
    call = dict(scan_inputs(seqlen=5), delta_softplus=False, reverse=False, mask=None)
    assert dispatch.resolve("selective_scan", "auto", torch.device("cuda"), call) == "chunked"
    assert dispatch.resolve("selective_scan", "auto", torch.device("cuda"), call) == "chunked"
    (reason, calls), = fallbacks()["selective_scan"].items()
    assert "no kernel for you" in reason and calls == 2


def test_missing_triton_package_is_named_plainly(monkeypatch):
    monkeypatch.setattr(dispatch.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match=r"triton package is not installed .*mambazoo\[triton\]"):
        ssd(**ssd_inputs(seqlen=5), chunk_size=4, backend="triton")


SCAN_CALLS = {
    "short-odd": dict(batch=2, dim=5, dstate=3, seqlen=7),
    "power-of-two-short": dict(batch=1, dim=3, dstate=1, seqlen=8),
    "long-grouped": dict(batch=2, dim=64, dstate=16, seqlen=100, groups=2),
    "wide-state": dict(batch=1, dim=6, dstate=33, seqlen=40, groups=3),
}
SSD_CALLS = {
    "short": (dict(batch=2, seqlen=5, nheads=4, headdim=3, dstate=5, ngroups=2), 4),
    "chunk-over-64": (dict(batch=1, seqlen=300, nheads=2, headdim=64, dstate=16, ngroups=1), 256),
    "chunk-over-seqlen": (dict(batch=1, seqlen=20, nheads=2, headdim=8, dstate=8, ngroups=1), 64),
}


@pytest.mark.parametrize("flags", [(), SCAN_FLAGS], ids=["plain", "all-flags"])
@pytest.mark.parametrize("shape", SCAN_CALLS.values(), ids=SCAN_CALLS.keys())
def test_selective_scan_check_launches_the_same_kernels_as_the_call(shape, flags):
    """The small problem auto checks has the call's flags, dtypes and tile sizes, so it compiles the same
    kernels; only batch, channels and length shrink."""
    kw = scan_inputs(**shape, flags=flags)
    absent = dict.fromkeys(("D", "z", "delta_bias", "initial_state", "mask"))
    grouped = {k: kw[k][:, None] if kw[k].dim() == 3 else kw[k] for k in ("B", "C")}
    call = {**absent, **kw, **grouped, "reverse": True}
    small = scan_triton.probe_inputs(**call)
    assert scan_triton.kernel_key(**small) == scan_triton.kernel_key(**call)
    assert small["u"].numel() <= call["u"].numel() and small["u"].shape[0] == 1


@pytest.mark.parametrize("shape", SSD_CALLS.values(), ids=SSD_CALLS.keys())
def test_ssd_check_launches_the_same_kernels_as_the_call(shape):
    dims, chunk_size = shape
    kw = ssd_inputs(**dims, flags=SSD_FLAGS)
    call = dict(kw, chunk_size=chunk_size, reverse=False)
    small = ssd_triton.probe_inputs(**call)
    assert ssd_triton.kernel_key(**small) == ssd_triton.kernel_key(**call)
    assert small["x"].shape[0] == 1 and small["x"].shape[1] <= max(kw["x"].shape[1], 2 * 64 + 3)


@pytest.mark.triton
def test_auto_checks_each_kernel_combination_once(checks):
    selective_scan(**scan_inputs(seqlen=20))
    assert last_backend("selective_scan") == "triton" and len(checks) == 1
    selective_scan(**scan_inputs(seqlen=25, seed=1))                  # same flags, dtypes and tiles
    assert len(checks) == 1
    selective_scan(**scan_inputs(seqlen=20, flags=("z",)))             # another flag: another kernel
    selective_scan(**scan_inputs(seqlen=20), reverse=True)
    selective_scan(**scan_inputs(seqlen=20, dtype=torch.bfloat16))    # another dtype
    assert len(checks) == 4 and len(set(checks)) == 4
    ssd(**ssd_inputs(seqlen=20, flags=SSD_FLAGS), chunk_size=8)
    assert last_backend("ssd") == "triton" and checks[-1][0] == "ssd"
    assert backends_used() == {"selective_scan": {"triton": 5}, "ssd": {"triton": 1}} and fallbacks() == {}


@pytest.mark.triton
def test_auto_refuses_a_kernel_whose_backward_is_wrong(checks, monkeypatch):
    """A forward that matches is not enough: a wrong gradient sends that combination to chunked."""
    real = scan_triton._backward

    def wrong_du(*args):
        du, *rest = real(*args)
        return (du * 1.5, *rest)
    monkeypatch.setattr(scan_triton, "_backward", wrong_du)
    out = selective_scan(**scan_inputs(seqlen=20))
    assert last_backend("selective_scan") == "chunked" and len(checks) == 1
    (reason, calls), = fallbacks()["selective_scan"].items()
    assert "disagreed with the oracle" in reason and "grad u" in reason and calls == 1
    torch.testing.assert_close(out, selective_scan(**scan_inputs(seqlen=20), backend="naive"))


def test_the_kernel_cache_is_keyed_by_instruction_set_not_host(monkeypatch, tmp_path):
    """Containers share host names across CPUs: an AVX-512 build must not be found on an AVX2 node."""
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.skip("no C compiler here")
    cc = fused._compiler()
    assert fused.instruction_set(cc) == fused.instruction_set(cc)  # no temporary names in the key
    monkeypatch.setenv("MAMBAZOO_CACHE", str(tmp_path))
    monkeypatch.setattr(fused, "_compile", lambda cc, target: target)
    monkeypatch.setattr(fused.platform, "node", lambda: "node-0")
    monkeypatch.setattr(fused, "instruction_set", lambda cc: "-march=skylake-avx512 -mavx512f")
    avx512 = fused._build()
    monkeypatch.setattr(fused, "instruction_set", lambda cc: "-march=haswell -mavx2")
    assert fused._build() != avx512
