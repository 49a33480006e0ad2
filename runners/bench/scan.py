"""Scan-core benchmark: time and peak memory of every backend beside the peers a user would pick instead.

    python -m runners.bench                          # CPU: selective_scan, ssd and s4d, default sizes
    python -m runners.bench --device cuda --dtype bfloat16 --batch 8 --dim 2048 --impls triton,chunked,sdpa

A row is reported only if that implementation's forward output matched the sequential oracle
(`naive`) at that very shape; otherwise it is printed as REFUSED and left out of the CSV. Times are
medians of repeated runs in this process; CPU peak memory is measured in a fresh child process
(the kernel's high-water mark of resident memory, reset once the inputs exist), CUDA peak memory with the allocator's
own counters. Targets are ratios against a reference measured in the same run, never absolute times.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.ops import selective_scan, ssd

from runners.run import env

OURS = ("naive", "chunked", "fused", "triton")
# s4d: selective_scan with time-invariant (dim, dstate) B and C; its peer is the same call with B and C
# written out per token, as the S4D layer passed them before the scan core had the time-invariant layout
PEERS = {"selective_scan": ("pscan", "sdpa"), "ssd": ("mamba_ssm", "sdpa"), "s4d": ("per_token",)}
# (op, ours, reference, seqlen, speed-up needed, what): the scan-core issues' targets, as ratios in one run
TARGETS = [("selective_scan", "chunked", "pscan", 2048, 2.0, "chunked >= 2x faster than mambapy pscan"),
           ("selective_scan", "chunked", "naive", 2048, 50.0, "chunked >= 50x faster than the sequential reference"),
           ("selective_scan", "fused", "pscan", 2048, 10.0, "fused >= 10x faster than mambapy pscan"),
           ("selective_scan", "fused", "chunked", 2048, 4.0, "fused >= 4x faster than chunked"),
           ("ssd", "fused", "chunked", 2048, 3.0, "fused >= 3x faster than chunked"),
           ("s4d", "fused", "per_token", 2048, 2.0, "fused time-invariant B, C >= 2x faster than the same B, C per token")]
TOL = {torch.float32: (6e-4, 2e-3), torch.float16: (3e-3, 5e-3), torch.bfloat16: (3e-2, 5e-2)}


def make_inputs(op, a, device, dtype, seqlen, seed=0):
    """Inputs with Mamba's initialisation: S4D-real A = -(1..N), dt in [1e-3, 1e-1]."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    dt = torch.exp(torch.rand(a.batch, seqlen, a.dim, generator=g) * (torch.log(torch.tensor(0.1)) - torch.log(
        torch.tensor(1e-3))) + torch.log(torch.tensor(1e-3)))
    if op in ("selective_scan", "s4d"):
        bc = (a.dim, a.dstate) if op == "s4d" else (a.batch, a.dstate, seqlen)
        kw = dict(u=rnd(a.batch, a.dim, seqlen), delta=dt.transpose(1, 2),
                  A=-torch.arange(1, a.dstate + 1.0).repeat(a.dim, 1), B=rnd(*bc), C=rnd(*bc), D=torch.ones(a.dim))
    else:
        heads = a.dim // a.headdim
        kw = dict(x=rnd(a.batch, seqlen, heads, a.headdim), dt=dt[..., :heads], A=-torch.arange(1, heads + 1.0),
                  B=rnd(a.batch, seqlen, 1, a.dstate), C=rnd(a.batch, seqlen, 1, a.dstate), D=torch.ones(heads))
    params = ("A", "D")
    return {k: v.to(device=device, dtype=torch.float32 if k in params else dtype).contiguous().requires_grad_()
            for k, v in kw.items()}


def implementation(op, impl, a):
    """A function of the inputs dict returning the op's output, or None if the peer is not installed."""
    if impl in OURS:
        if op in ("selective_scan", "s4d"):
            return lambda kw: selective_scan(**kw, backend=impl)
        return lambda kw: ssd(**kw, chunk_size=a.chunk_size, backend=impl)
    if impl == "pscan":
        try:
            from mambapy.pscan import pscan
        except ImportError:
            return None

        def run_pscan(kw):  # mambapy's own selective_scan body, in its (batch, L, dim, dstate) layout
            u, dt, B, C = (kw[k].transpose(1, 2) for k in ("u", "delta", "B", "C"))
            hs = pscan(torch.exp(dt.unsqueeze(-1) * kw["A"]), (dt * u).unsqueeze(-1) * B.unsqueeze(2))
            return ((hs @ C.unsqueeze(-1)).squeeze(3) + kw["D"] * u).transpose(1, 2)
        return run_pscan
    if impl == "per_token":
        def run_per_token(kw):
            batch, _, seqlen = kw["u"].shape
            bc = {k: kw[k][None, :, :, None].expand(batch, -1, -1, seqlen) for k in ("B", "C")}
            return selective_scan(**dict(kw, **bc), backend="fused")
        return run_per_token
    if impl == "mamba_ssm":
        try:
            from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
        except ImportError:
            return None
        return lambda kw: mamba_chunk_scan_combined(**{k: kw[k] for k in ("x", "dt", "A", "B", "C", "D")},
                                                    chunk_size=a.chunk_size)
    if impl == "sdpa":  # causal attention of the same width, flash kernel where the device has it
        return lambda kw: F.scaled_dot_product_attention(kw["q"], kw["k"], kw["v"], is_causal=True)
    raise ValueError(f"unknown implementation {impl!r}")


def attention_inputs(a, device, dtype, seqlen):
    heads = a.dim // a.attn_headdim
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(a.batch, heads, seqlen, a.attn_headdim, generator=g).to(device, dtype).requires_grad_()
            for k in ("q", "k", "v")}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, kw, device, backward, min_time, max_reps):
    """Median seconds of fn (and its backward) after one warm-up run."""
    cotangent = None

    def once():
        nonlocal cotangent
        for v in kw.values():
            v.grad = None
        out = fn(kw)
        if backward:
            if cotangent is None:
                cotangent = torch.randn_like(out)
            out.backward(cotangent)
    once()
    times = []
    while len(times) < max_reps and (sum(times) < min_time or len(times) < 2):
        sync(device)
        t0 = time.perf_counter()
        once()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory_mb(op, impl, a, seqlen):
    """Peak extra memory of one forward+backward: a fresh process on the CPU, allocator counters on CUDA."""
    device = torch.device(a.device)
    if device.type == "cuda":
        kw = inputs_for(op, impl, a, device, seqlen)
        fn = implementation(op, impl, a)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn(kw).sum().backward()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    args = [sys.executable, "-m", "runners.bench", "--child-memory", json.dumps([op, impl, seqlen, vars(a)])]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def child_memory(spec):
    op, impl, seqlen, cfg = json.loads(spec)
    a = argparse.Namespace(**cfg)
    kw = inputs_for(op, impl, a, torch.device("cpu"), seqlen)
    fn = implementation(op, impl, a)
    cpu = torch.device("cpu")
    before = env.reset_peak_memory(cpu)  # restart the kernel's high-water mark here, past the import's own peak
    fn(kw).sum().backward()
    print(env.peak_memory_mb(cpu, before))


def inputs_for(op, impl, a, device, seqlen):
    dtype = getattr(torch, a.dtype)
    return attention_inputs(a, device, dtype, seqlen) if impl == "sdpa" else make_inputs(op, a, device, dtype, seqlen)


def matches_oracle(op, impl, fn, a, device, seqlen, oracle_cache):
    """(ok, max error): forward output against naive at this shape (the oracle run once per shape, in float64)."""
    if impl in ("naive", "sdpa"):
        return True, 0.0  # the oracle itself; attention computes a different function
    dtype = getattr(torch, a.dtype)
    with torch.no_grad():
        kw = make_inputs(op, a, device, dtype, seqlen)
        if seqlen not in oracle_cache:
            ref_kw = {k: v.detach().cpu().double() for k, v in kw.items()}
            oracle_cache[seqlen] = implementation(op, "naive", a)(ref_kw)
        want = oracle_cache[seqlen]
        got = fn(kw).detach().cpu().double()
    rtol, atol = TOL[dtype]
    err = (got - want).abs()
    return bool((err <= atol + rtol * want.abs()).all()), float(err.max())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.bench", description=__doc__.split("\n")[0])
    p.add_argument("--ops", default="selective_scan,ssd,s4d")
    p.add_argument("--impls", default=None, help="default: naive,chunked and the peers; cpu adds fused, cuda triton")
    p.add_argument("--seqlens", default="256,1024,2048,4096,16384")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--dstate", type=int, default=16)
    p.add_argument("--headdim", type=int, default=64, help="ssd head size (nheads = dim / headdim)")
    p.add_argument("--attn-headdim", type=int, default=128, help="sdpa head size (heads = dim / this)")
    p.add_argument("--chunk-size", type=int, default=64, help="ssd chunk length")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of repeats per measurement")
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--out", default=None, help="CSV path (default results/benchmarks/scan_<device>.csv)")
    p.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child_memory:
        return child_memory(a.child_memory)

    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("bench: --device cuda asked for, but torch sees no CUDA device")
    name, found = env.device_name(device), env.versions()
    print(f"device: {name}\nversions: {found}\nshape: batch={a.batch} dim={a.dim} dstate={a.dstate} "
          f"dtype={a.dtype}")
    rows = []
    for op in a.ops.split(","):
        rows += bench_op(op, a.impls.split(",") if a.impls else default_impls(op, device), a, device)
    write_csv(rows, a, device, name, found)
    report(rows)


def default_impls(op, device) -> list[str]:
    fast = "triton" if device.type == "cuda" else "fused"
    if op == "s4d":  # the per-token peer runs on fused, a CPU backend
        return ["chunked", fast] + (["per_token"] if fast == "fused" else [])
    return ["naive", "chunked", fast] + [x for x in PEERS[op] if x != "sdpa" or device.type == "cuda"]


def bench_op(op, impls, a, device):
    rows, oracle_cache = [], {}
    from tqdm import tqdm
    grid = [(s, i) for s in map(int, a.seqlens.split(",")) for i in impls]
    for seqlen, impl in tqdm(grid, desc=op, unit="run", file=sys.stderr):
        fn = implementation(op, impl, a) if impl in OURS or impl in PEERS[op] else None
        if fn is None:
            tqdm.write(f"{op} {impl}: skipped (peer not installed or not a peer of {op})")
            continue
        try:
            ok, err = matches_oracle(op, impl, fn, a, device, seqlen, oracle_cache)
        except Exception as exc:  # a backend that cannot run here (e.g. triton on the CPU) is reported, not fatal
            tqdm.write(f"{op} {impl} L={seqlen}: cannot run: {type(exc).__name__}: {exc}".splitlines()[0])
            continue
        if not ok:
            tqdm.write(f"{op} {impl} L={seqlen}: REFUSED, output differs from naive (max error {err:.3g})")
            continue
        kw = inputs_for(op, impl, a, device, seqlen)
        row = dict(op=op, impl=impl, seqlen=seqlen, max_err=err,
                   fwd_ms=1e3 * timed(fn, kw, device, False, a.min_time, a.max_reps),
                   fwd_bwd_ms=1e3 * timed(fn, kw, device, True, a.min_time, a.max_reps),
                   peak_mb=None if a.no_memory else peak_memory_mb(op, impl, a, seqlen))
        rows.append(row)
    return rows


def write_csv(rows, a, device, name, found):
    path = Path(a.out or f"results/benchmarks/scan_{env.device_slug(device)}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    fields = ["date", "device", "versions", "dtype", "batch", "dim", "dstate", "op", "impl", "seqlen",
              "fwd_ms", "fwd_bwd_ms", "peak_mb", "max_err"]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, date=stamp, device=name, versions=json.dumps(found), dtype=a.dtype,
                            batch=a.batch, dim=a.dim, dstate=a.dstate))
    tmp.replace(path)
    print(f"wrote {path}")


def report(rows):
    """Per-shape table with every time as a ratio to chunked, then the issue's targets."""
    def get(op, impl, seqlen, key="fwd_bwd_ms"):
        return next((r[key] for r in rows if (r["op"], r["impl"], r["seqlen"]) == (op, impl, seqlen)), None)

    print(f"\n{'op':15} {'impl':10} {'seqlen':>7} {'fwd ms':>10} {'fwd+bwd ms':>11} {'peak MB':>9} "
          f"{'x chunked':>10}")
    for r in rows:
        base = get(r["op"], "chunked", r["seqlen"])
        ratio = f"{r['fwd_bwd_ms'] / base:9.2f}x" if base else ""
        mem = f"{r['peak_mb']:9.1f}" if r["peak_mb"] is not None else f"{'-':>9}"
        print(f"{r['op']:15} {r['impl']:10} {r['seqlen']:7d} {r['fwd_ms']:10.2f} {r['fwd_bwd_ms']:11.2f} {mem} {ratio}")

    print("\ntargets (forward+backward, same run):")
    for op, ours, peer, seqlen, need, text in TARGETS:
        mine, theirs = get(op, ours, seqlen), get(op, peer, seqlen)
        if mine and theirs:
            print(f"  {op} {text} at L={seqlen}: {theirs / mine:.2f}x  {'MET' if theirs / mine >= need else 'MISSED'}")
    for ours, peer in (("chunked", "pscan"), ("fused", "chunked")):
        mine, theirs = get("selective_scan", ours, 2048, "peak_mb"), get("selective_scan", peer, 2048, "peak_mb")
        if mine is not None and theirs is not None:
            print(f"  selective_scan {ours} peak memory <= {peer}'s at L=2048: {mine:.0f} MB vs {theirs:.0f} MB  "
                  f"{'MET' if mine <= theirs else 'MISSED'}")
    for ours, limit in (("chunked", 20), ("fused", 18)):
        t1, t16 = get("selective_scan", ours, 1024), get("selective_scan", ours, 16384)
        if t1 and t16:
            print(f"  selective_scan {ours} time grows <= {limit}x from L=1024 to 16384: {t16 / t1:.1f}x  "
                  f"{'MET' if t16 / t1 <= limit else 'MISSED'}")
