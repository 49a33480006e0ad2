"""The benchmark writes rows for what matched the oracle and refuses what did not."""
import csv
import shutil

import torch

from runners.bench import scan as bench


def run_bench(tmp_path, *extra):
    out = tmp_path / "b.csv"
    bench.main(["--seqlens", "40", "--batch", "1", "--dim", "8", "--dstate", "4", "--headdim", "4",
                "--chunk-size", "16", "--min-time", "0", "--max-reps", "2", "--no-memory", "--out", str(out), *extra])
    return list(csv.DictReader(open(out)))


def test_bench_rows_and_ratios(tmp_path, capsys):
    rows = run_bench(tmp_path)
    got = {(r["op"], r["impl"]) for r in rows}
    assert {("selective_scan", "naive"), ("selective_scan", "chunked"), ("ssd", "naive"), ("ssd", "chunked")} <= got
    if shutil.which("cc") or shutil.which("gcc"):  # the compiled kernels are a CPU default wherever they build
        assert {("selective_scan", "fused"), ("ssd", "fused"), ("s4d", "fused"), ("s4d", "per_token")} <= got
    assert all(float(r["fwd_bwd_ms"]) > 0 and r["device"] for r in rows)
    assert "torch" in rows[0]["versions"]
    assert "x chunked" in capsys.readouterr().out


def test_bench_refuses_a_backend_that_disagrees_with_naive(tmp_path, monkeypatch, capsys):
    real = bench.implementation

    def sabotaged(op, impl, a):
        fn = real(op, impl, a)
        return (lambda kw: fn(kw) * 1.01) if impl == "chunked" else fn
    monkeypatch.setattr(bench, "implementation", sabotaged)
    rows = run_bench(tmp_path, "--ops", "selective_scan", "--impls", "naive,chunked")
    assert [r["impl"] for r in rows] == ["naive"]
    captured = capsys.readouterr()
    assert "chunked L=40: REFUSED" in captured.out + captured.err


def test_cpu_peak_memory_is_measured_per_run(tmp_path):
    a = bench.argparse.Namespace(batch=1, dim=64, dstate=16, headdim=16, chunk_size=16, dtype="float32",
                                 device="cpu", attn_headdim=16)
    small = bench.peak_memory_mb("selective_scan", "pscan", a, 64)
    large = bench.peak_memory_mb("selective_scan", "pscan", a, 4096)
    # pscan holds several (batch, L, dim, dstate) float32 tensors: at L=4096 each is 4 MiB
    assert large > 4 * 4 and large > 8 * small
    assert torch.isfinite(torch.tensor(small))
