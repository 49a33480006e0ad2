"""The GPU check: the Triton scan core verified and timed on a CUDA device, every result under one folder.

    make gpu-check                                    # into results/gpu_check/
    python -m runners.bench.gpu_check --out DIR --pack DIR.tar.gz --steps tests,kernels,train,bench,decode,scaling
    python -m runners.bench.gpu_check --dry-run --out /tmp/gc   # the same steps on the CPU at toy sizes

GPU time is scarce (minutes, lent by chance), so the check is one command that runs without a person: the
steps that do not time anything (the `gpu` tests, the kernels against the oracle, one short training run per
domain) run side by side first, then the benchmarks one after another on a quiet device. Each step has its
own time limit and log; one that fails or runs out of time is recorded and the others go on. `summary.json`
and the packed archive are rewritten after every step, so a check stopped from outside keeps what finished.
`--dry-run` runs every step on the CPU (the Triton kernels interpreted, the `triton`-marked tests in place of
the `gpu` ones, toy sizes), so nothing but the GPU itself is left untried when the GPU comes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

from runners.run import env

# (step name, pipeline, model, extra overrides): one short training run per domain, through `auto`
TRAIN = [("language", "induction_heads", "mamba", []),
         ("language_ssd", "induction_heads", "mamba2", []),
         ("language_s4d", "selective_copying", "s4d", []),
         ("vision", "digits", "vim", ["model.patch_size=2"]),
         ("graph", "pattern", "graph_mamba", ["data.n_train=64", "data.n_val=16", "data.n_test=16"]),
         ("timeseries", "etth1", "s_mamba", [])]


def steps(a) -> dict[str, dict]:
    """name -> {argv, timeout, parallel}; every path inside a.out."""
    py, out, dry = sys.executable, Path(a.out), a.dry_run
    device = "cpu" if dry else "cuda"
    found = {
        "tests": dict(argv=[py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "triton" if dry else "gpu",
                            "-n", str(a.workers), f"--junitxml={out / 'tests.xml'}"]
                      + (["tests/ops/test_mask.py", "tests/ops/test_reference.py"] if dry else []), timeout=a.test_timeout, parallel=True),
        "kernels": dict(argv=[py, "-m", "runners.bench.kernel_errors", "--device", device, "--size", "small" if dry else "full",
                              "--out", str(out / "kernel_errors.csv")], timeout=120, parallel=True),
        "bench": dict(argv=[py, "-m", "runners.bench", "--device", device, "--dtype", "float32" if dry else "bfloat16",
                            "--batch", "1" if dry else "4", "--dim", "64" if dry else "1024",
                            "--seqlens", "128,256" if dry else "512,2048,8192",
                            "--impls", "chunked,fused" if dry else "chunked,triton,pscan,mamba_ssm,sdpa",
                            "--min-time", "0.05" if dry else "0.2", "--max-reps", "3" if dry else "10",
                            "--out", str(out / "scan_gpu.csv")], timeout=120, parallel=False),
        "decode": dict(argv=[py, "-m", "runners.bench.decode", "--device", device]
                       + (["--lengths", "8,16", "--batches", "1"] if dry else
                          ["--size", "paper", "--lengths", "128,512,2048", "--batches", "1,16"])
                       + ["--out", str(out / "decode_gpu.csv")], timeout=120, parallel=False),
        "scaling": dict(argv=[py, "-m", "runners.bench.scaling", "--device", device, "--out", str(out / "scaling")]
                        + (["--sizes", "suite", "--first", "1"] if dry else
                           ["--sizes", "suite,paper", "--max-seconds", "5"]),
                        timeout=60 if dry else 180, parallel=False),
    }
    for name, pipeline, model, extra in TRAIN:
        steps_ = 4 if dry else 100
        found[f"train_{name}"] = dict(
            argv=[py, "-m", "runners.train", f"pipeline={pipeline}", f"model.name={model}",
                  f"trainer={'cpu' if dry else 'gpu'}", f"trainer.max_steps={steps_}",
                  f"trainer.val_every_steps={steps_}", "suite_name=gpu_check", *extra],
            timeout=180, parallel=True, env={"MAMBAZOO_RESULTS": str(out / "results")})
    return found


def run_step(name: str, spec: dict, out: Path) -> subprocess.Popen:
    log = open(out / f"{name}.log", "w")
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.get("env", {})}
    proc = subprocess.Popen(spec["argv"], stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=env.ROOT)
    proc.started, proc.log = time.time(), log
    return proc


def finish(name: str, proc: subprocess.Popen, spec: dict, summary: dict):
    try:
        rc = proc.wait(timeout=max(1.0, spec["timeout"] - (time.time() - proc.started)))
        status = "passed" if rc == 0 else f"failed (exit {rc})"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        status = f"timed out after {spec['timeout']} s"
    proc.log.close()
    summary["steps"][name] = dict(status=status, seconds=round(time.time() - proc.started, 1),
                                  command=" ".join(spec["argv"]))
    print(f"{name}: {status} in {summary['steps'][name]['seconds']} s", flush=True)


def facts(dry: bool) -> dict:
    device = torch.device("cpu" if dry else "cuda")
    found = dict(device=env.device_name(device), versions=env.versions(), commit=env.git_commit(),
                 started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if os.environ.get("GPU_CHECK_COMMIT"):  # a copy of the tree without .git says which commit it is
        found["commit"] = os.environ["GPU_CHECK_COMMIT"]
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        found.update(memory_gib=round(props.total_memory / 2**30, 1), multiprocessors=props.multi_processor_count,
                     capability=f"{props.major}.{props.minor}")
    return found


def records(out: Path) -> list[dict]:
    """The training runs' records, cut to what says the scan core ran on the GPU."""
    keep = ("model", "pipeline", "device", "scan_backend", "scan_fallbacks", "train_s", "throughput", "throughput_unit", "peak_mem_mb",
            "metrics")
    found = []
    for path in sorted((out / "results").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            found.append({k: rec.get(k) for k in keep})
    return found


def save(summary: dict, out: Path, pack: Path | None):
    summary["records"] = records(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    if pack:
        tmp = pack.with_name(pack.name + ".tmp")
        with tarfile.open(tmp, "w:gz") as tar:
            tar.add(out, arcname=out.name)
        tmp.replace(pack)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.bench.gpu_check", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="results/gpu_check")
    p.add_argument("--pack", default=None, help="also keep the folder packed here (.tar.gz), after every step")
    p.add_argument("--steps", default=None, help="comma-separated step names (default: all)")
    p.add_argument("--workers", type=int, default=6, help="pytest-xdist processes for the tests")
    p.add_argument("--test-timeout", type=int, default=180)
    p.add_argument("--dry-run", action="store_true", help="on the CPU, toy sizes, Triton interpreted")
    a = p.parse_args(argv)
    if not a.dry_run and not torch.cuda.is_available():
        sys.exit("gpu_check: torch sees no CUDA device (use --dry-run to try the steps on the CPU)")
    if a.dry_run:
        os.environ["TRITON_INTERPRET"] = "1"
    out, pack = Path(a.out).resolve(), Path(a.pack).resolve() if a.pack else None
    out.mkdir(parents=True, exist_ok=True)
    every = steps(a)
    chosen = a.steps.split(",") if a.steps else list(every)
    unknown = [s for s in chosen if s not in every and s != "train"]
    if unknown:
        sys.exit(f"gpu_check: unknown step(s) {unknown}; steps: {', '.join(every)} (train: every train_ step)")
    if "train" in chosen:
        chosen = [s for s in chosen if s != "train"] + [s for s in every if s.startswith("train_")]
    summary = dict(facts(a.dry_run), steps={})
    save(summary, out, pack)
    # the untimed steps side by side, then the benchmarks alone on the device
    running = {name: run_step(name, every[name], out) for name in chosen if every[name]["parallel"]}
    for name, proc in running.items():
        finish(name, proc, every[name], summary)
        save(summary, out, pack)
    for name in (n for n in chosen if not every[n]["parallel"]):
        finish(name, run_step(name, every[name], out), every[name], summary)
        save(summary, out, pack)
    bad = {n: s["status"] for n, s in summary["steps"].items() if s["status"] != "passed"}
    print(f"gpu_check: {len(summary['steps']) - len(bad)} of {len(summary['steps'])} steps passed; "
          + (f"not passed: {bad}" if bad else "all passed") + f"; results in {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
