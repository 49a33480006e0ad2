"""Scaling benchmark: time and peak memory of a training step and of an inference forward against the axis each
domain's papers use, Mamba models against their Transformer baselines (conf/bench/scaling.yaml).

    python -m runners.bench.scaling                                  # every domain, the suites' and a larger size
    python -m runners.bench.scaling --domains language --sizes suite
    python -m runners.bench.scaling --device cuda --sizes suite,paper

At each point both models are built for the same input and checked (a finite loss, the same output shape), then
timed one after the other in this process, so the ratios hold on a noisy machine. A training step is forward,
backward and an AdamW step; inference is a forward without gradients in eval mode. A point that does not fit
(--memory-gib) or whose step takes longer than --max-seconds is recorded as such, and the model's larger values
on that axis are recorded as not run. Rows are appended to results/benchmarks/scaling_<domain>_<device>.csv as
they are measured; a rerun keeps the rows there and measures the rest (--fresh starts over). Then the exponents,
crossovers and ratios are computed (runners/bench/curves.py) and plotted.
"""
from __future__ import annotations

import argparse
import csv
import math
import contextlib
from pathlib import Path

import torch
import yaml

import zoo

from runners.bench import curves, inputs, measure
from runners.run import env

CONFIG = Path(__file__).resolve().parents[2] / "conf" / "bench" / "scaling.yaml"
OUT = Path("results/benchmarks")
COLUMNS = ("domain", "pair", "size", "axis", "value", "model", "role", "params", "mode", "seconds", "peak_mb",
           "status", "repeats", "batch", "dtype", "threads", "device", "torch")
KEY = ("pair", "size", "axis", "value", "model", "mode")
MODES = ("train", "infer")


def load(path: Path = CONFIG) -> dict:
    spec = yaml.safe_load(Path(path).read_text())
    for domain, d in spec.items():
        if d.get("input") not in inputs.MAKERS:
            raise ValueError(f"{path}: {domain}.input={d.get('input')!r}; inputs: {', '.join(inputs.MAKERS)}")
        for pair in d["pairs"]:
            unknown = set(pair.get("axes", [])) - set(d["axes"])
            if unknown:
                raise ValueError(f"{path}: {domain} pair {pair['mamba']} names axes {sorted(unknown)} it lacks")
    return spec


def points(domain: dict, pair: dict, sizes: list[str], first: int | None = None):
    """(size, axis, value, roles measured there) in the order they are measured: each axis from its smallest
    value, the Mamba model alone at the `longer` values; only the first `first` values of each axis if given."""
    varied = [a for a, s in domain["axes"].items() if s.get("values")]
    for size in ["suite", *[s for s in sizes if s in pair.get("sizes", {})]]:
        for axis in pair.get("axes", varied):
            spec = domain["axes"][axis]
            both = [(v, ("mamba", "baseline")) for v in spec["values"]]
            for value, roles in (both + [(v, ("mamba",)) for v in spec.get("longer", [])])[:first]:
                yield size, axis, value, roles


def axis_values(domain: dict, axis: str, value) -> dict:
    return {**{a: s.get("default") for a, s in domain["axes"].items()}, axis: value}


def build(domain: dict, pair: dict, size: str, role: str, axes: dict, device: torch.device):
    """(model, forward arguments) of `role` at one point, on `device`."""
    name = pair[role]
    chosen = None if size == "suite" else pair["sizes"][size][0 if role == "mamba" else 1]
    io = dict(domain["io"])
    if isinstance(chosen, str):
        io.update(zoo.size_spec(name, chosen)["io"])
    io, args = inputs.MAKERS[domain["input"]](axes, io, domain["batch"], torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    settings = {"size": chosen} if isinstance(chosen, str) else dict(chosen or {})
    model = zoo.create_model(name, **settings, **io).to(device)
    return model, tuple(a.to(device) for a in args)


def steps(model, args, autocast):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = model(*args).float().square().mean()
        loss.backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad(), autocast():
            model(*args)
    return {"train": train, "infer": infer}


def check(model, args, autocast) -> tuple:
    """The output shape of a training-mode forward; ValueError if its loss is not finite."""
    model.train()
    with torch.no_grad(), autocast():
        out = model(*args)
    loss = float(out.float().square().mean())
    if not math.isfinite(loss):
        raise ValueError(f"its loss is {loss}")
    return tuple(out.shape)


def run_domain(name: str, domain: dict, sizes: list[str], device, autocast, a, path: Path, done: dict) -> list[dict]:
    from tqdm import tqdm

    common = dict(domain=name, batch=domain["batch"], dtype=a.dtype, threads=torch.get_num_threads(),
                  device=env.device_name(device), torch=torch.__version__)
    todo = [(pair, *p) for pair in domain["pairs"] for p in points(domain, pair, sizes, a.first)]
    stopped: dict = {}  # (pair, size, axis, model, mode) -> why its larger values are not run
    for pair, size, axis, value, roles in tqdm(todo, desc=f"scaling {name}", unit="point"):
        base = {role: dict(pair=pair["mamba"], size=size, axis=axis, value=value, model=pair[role], role=role)
                for role in roles}
        key = lambda role, mode: tuple(str(base[role][k]) for k in KEY[:-1]) + (mode,)  # noqa: E731
        if all(key(role, mode) in done for role in roles for mode in MODES):
            for role in roles:
                for mode in MODES:
                    _carry(stopped, done[key(role, mode)])
            continue
        rows = measure_point(domain, pair, size, axis, value, roles, device, autocast, a, stopped)
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            for (role, mode), row in rows.items():
                full = {**common, **base[role], **row, "mode": mode}
                writer.writerow(full)
                done[key(role, mode)] = full
                _carry(stopped, full)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return list(done.values())


def measure_point(domain, pair, size, axis, value, roles, device, autocast, a, stopped) -> dict:
    """{(role, mode): the row's measured columns} at one point: each model built and checked, then each mode's
    steps timed together (measure.timed) and their peaks taken one after the other."""
    blank = dict(params="", seconds="", peak_mb="", repeats=0)
    rows, built = {}, {}
    for role in roles:
        skipped = {m: stopped.get((pair["mamba"], size, axis, pair[role], m)) for m in MODES}
        try:
            if not all(skipped.values()):
                model, args = build(domain, pair, size, role, axis_values(domain, axis, value), device)
                shape = check(model, args, autocast)
                other = next((b["shape"] for b in built.values()), shape)
                if shape != other:
                    raise ValueError(f"output shape {shape} differs from the Mamba model's {other}")
                built[role] = dict(model=model, args=args, shape=shape, params=zoo.count_parameters(model))
        except Exception as e:  # noqa: BLE001 -- a model that cannot run a point is a row, not a crash
            status = "out of memory" if measure.is_out_of_memory(e) else f"failed: {type(e).__name__}: {e}"
            skipped = {m: skipped[m] or status for m in MODES}
        rows.update({(role, m): dict(blank, status=skipped[m]) for m in MODES if skipped[m]})
    for mode in MODES:
        run = {role: steps(b["model"], b["args"], autocast)[mode] for role, b in built.items()
               if (role, mode) not in rows}
        for role, result in measure.timed(run, device, a.max_seconds).items():
            row = dict(blank, params=built[role]["params"])
            if isinstance(result, tuple):
                rows[(role, mode)] = dict(row, seconds=_round(result[0]), repeats=result[1], status="ok",
                                          peak_mb=_blank(measure.peak_mb(run[role], device)))
            elif isinstance(result, measure.OverTime) or measure.is_out_of_memory(result):
                rows[(role, mode)] = dict(row, status="out of memory" if measure.is_out_of_memory(result) else
                                          f"over time: {result}")
            else:
                raise result
    return {(role, mode): rows[(role, mode)] for role in roles for mode in MODES}


def profile(spec: dict, point: str, device, autocast, rows: int = 15) -> str:
    """torch.profiler's table of one training step and one inference forward of a pair at one point, named
    domain:mamba_model:size:axis:value (e.g. language:mamba:suite:length:16384): where the time goes."""
    try:
        name, mamba, size, axis, value = point.split(":")
        domain, value = spec[name], int(value)
        pair = next(p for p in domain["pairs"] if p["mamba"] == mamba)
    except (ValueError, KeyError, StopIteration):
        raise SystemExit(f"bench_scaling: --profile {point!r}: give domain:mamba_model:size:axis:value with a "
                         f"domain and pair of the config") from None
    from torch.profiler import ProfilerActivity, profile as run_profiler
    activities = [ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * (device.type == "cuda")
    out = []
    for role in ("mamba", "baseline"):
        model, args = build(domain, pair, size, role, axis_values(domain, axis, value), device)
        for mode, step in steps(model, args, autocast).items():
            step()
            measure.sync(device)
            with run_profiler(activities=activities) as prof:
                step()
                measure.sync(device)
            key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
            out.append(f"== {pair[role]} ({size}) {mode} at {axis}={value}\n"
                       + prof.key_averages().table(sort_by=key, row_limit=rows))
    return "\n".join(out)


def _carry(stopped: dict, row: dict):
    """Note in `stopped` where a model ran out of memory or time, for its larger values to be left out."""
    status = row["status"]
    key = (row["pair"], row["size"], row["axis"], row["model"], row["mode"])
    if key not in stopped and (status.startswith("over time") or status == "out of memory"):
        stopped[key] = f"not run: {status.split(':')[0]} at {row['axis']}={row['value']}"


def _round(x):
    return "" if x is None else float(f"{x:.4g}")


def _blank(x):
    return "" if x is None else x


def read(path: Path) -> dict:
    """The rows a CSV holds already, by KEY."""
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        return {tuple(r[k] for k in KEY): r for r in csv.DictReader(f)}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.bench.scaling", description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(CONFIG))
    p.add_argument("--domains", default=None, help="comma-separated (default: every domain of the config)")
    p.add_argument("--sizes", default="suite,larger", help="the suites' size and these of each pair's sizes")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, help="float32 (CPU default) or bfloat16 (CUDA default, autocast)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--max-seconds", type=float, default=30.0, help="the longest one step may take")
    p.add_argument("--memory-gib", type=float, default=None, help="CPU: the most a point may add (default: 3/4 "
                   "of the memory available at the start)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--first", type=int, default=None, help="only the first N values of each axis (a quick look)")
    p.add_argument("--fresh", action="store_true", help="discard the rows measured before")
    p.add_argument("--profile", default=None, metavar="DOMAIN:MAMBA:SIZE:AXIS:VALUE",
                   help="print where one point's steps spend their time (torch.profiler) instead of measuring")
    a = p.parse_args(argv)
    spec = load(Path(a.config))
    domains = a.domains.split(",") if a.domains else list(spec)
    unknown = [d for d in domains if d not in spec]
    if unknown:
        raise SystemExit(f"bench_scaling: no domain {unknown[0]!r} in {a.config} (domains: {', '.join(spec)})")
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_scaling: --device cuda asked for, but torch sees no CUDA device")
    a.dtype = a.dtype or ("bfloat16" if device.type == "cuda" else "float32")
    if a.threads:
        torch.set_num_threads(a.threads)
    if device.type == "cpu":
        env.keep_freed_memory()  # as the suites' training runs do (runners/run/train.py)
    limit = measure.memory_limit(a.memory_gib or 0.75 * measure.available_gib()) if device.type == "cpu" \
        else contextlib.nullcontext()
    with limit:
        return _main(a, spec, domains, device)


def _main(a, spec: dict, domains: list[str], device: torch.device) -> int:
    autocast = (lambda: torch.autocast(device.type, dtype=getattr(torch, a.dtype))) if a.dtype != "float32" \
        else contextlib.nullcontext
    if a.profile:
        print(profile(spec, a.profile, device, autocast))
        return 0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = a.sizes.split(",")
    for name in domains:
        path = out / f"scaling_{name}_{env.device_slug(device)}.csv"
        if a.fresh or not path.exists():
            path.write_text(",".join(COLUMNS) + "\n")
        done = read(path)
        other = {r["device"] for r in done.values()} - {env.device_name(device)}
        if other:
            raise SystemExit(f"bench_scaling: {path} holds rows measured on {other.pop()}; ratios hold within one "
                             f"machine, so pass --fresh to start over, or --out elsewhere")
        rows = run_domain(name, spec[name], sizes, device, autocast, a, path, done)
        summary = curves.summarise(rows, {axis: s.get("power", 1) for axis, s in spec[name]["axes"].items()})
        curves.write_summary(summary, path.with_name(path.stem + "_summary.csv"))
        curves.plot(name, rows, spec[name].get("claim", ""), path.with_suffix(".svg"))
        print(curves.describe(name, summary))
        print(f"wrote {path}, its summary and its plot")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
