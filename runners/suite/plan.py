"""What a suite will cost before it runs: `python -m runners.compare suite=<suite> plan=true` (or `make plan`).

Nothing is trained and no data is loaded: each run's model is built on the `meta` device from the shapes its
task kind knows without the data (`tasks.kinds.Planned`), its parameters counted there, and one forward pass
of one example is counted in FLOPs by torch's FlopCounterMode (matrix products and convolutions: the scan's
elementwise work, a few percent of a Mamba layer, is not counted). A training step is taken as three forward
passes (forward + backward), validation is not counted, and an early-stopping run is costed at its
`max_steps` (which makes the figure high); the utilisation is assumed and data loading is left out (which may
make it low), so its direction is not known until a GPU measures it. GPU-hours are those FLOPs at
`UTILISATION` of an H100's dense bf16 peak, and no fewer than `STEP_FLOOR_S` a step: a small model's step is
bound by launches and Python, not FLOPs. Both are stated assumptions: no GPU has measured these suites yet,
and a measured throughput replaces them when one has (issue 27).

The rows go to `<results_dir>/plans/<suite>.csv`, the total and what data is missing are printed.
"""
from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

PEAK_FLOPS = 989.4e12  # H100 SXM, dense bf16 (NVIDIA's datasheet)
UTILISATION = 0.30     # a stated fraction of that peak, not a measurement
STEP_FLOOR_S = 0.02    # an assumed least time of one optimiser step through Lightning on a GPU, not a measurement
COLUMNS = ("run", "model", "params", "train_units", "unit", "est_gpu_hours", "data_ready", "gpus", "missing")


def devices(cfg) -> int:
    """GPUs one run asks for: trainer.devices on a GPU trainer (-1, "auto": counted as one), else 0."""
    if cfg.trainer.accelerator not in ("gpu", "cuda", "auto"):
        return 0
    n = cfg.trainer.devices
    return len(n) if isinstance(n, (list, tuple)) else n if isinstance(n, int) and n > 0 else 1


def forward_flops(model, inputs: tuple) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        model(*inputs)
    return counter.get_total_flops()


def cost(cfg) -> dict:
    """One run's plan row, less its name: parameters, training units, FLOPs, GPU-hours, data status."""
    import torch
    from omegaconf import OmegaConf

    import zoo
    from tasks.kinds import kind_for, resolve_data
    data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
    kind = kind_for(data["task"])
    if kind.plan is None:
        raise ValueError(f"data.task={data['task']}: the {kind.name} kind has no plan hook, so its runs cannot be "
                         f"costed without loading their data")
    planned = kind.plan(data, cfg.data_root)
    settings = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if k != "name"}
    with torch.device(planned.device):
        model = zoo.create_model(cfg.model.name, **planned.io, **settings)
    model.train()
    gpus = devices(cfg)
    examples = cfg.trainer.max_steps * data["batch_size"] * max(gpus, 1)  # DDP: batch_size is per GPU
    flops = 3 * forward_flops(model, planned.example(1)) * examples
    seconds = max(flops / (UTILISATION * PEAK_FLOPS), cfg.trainer.max_steps * STEP_FLOOR_S * max(gpus, 1))
    size = cfg.model.get("size")
    return dict(model=cfg.model.name + (f" ({zoo.size_spec(cfg.model.name, size)['name']})" if size else ""),
                params=zoo.count_parameters(model), train_units=round(examples * planned.per_example),
                unit=planned.unit, est_gpu_hours=seconds / 3600, data_ready="no" if planned.missing else "yes",
                gpus=gpus, missing=planned.missing or "")


def costs(runs: list) -> list[dict]:
    """`cost` of each run (compare's Run objects), in order; runs that differ only in seed or tuned value cost
    the same and are costed once."""
    from tqdm import tqdm
    done = {}
    for run in tqdm(runs, desc="plan", unit="run", file=sys.stderr, disable=len(runs) < 20):
        key = cost_key(run.overrides)
        if key not in done:
            done[key] = cost(run.cfg)
    return [done[cost_key(run.overrides)] for run in runs]


def rows(runs: list) -> list[dict]:
    """A plan row per run: its name (with what tells it apart from the rest of its suite) and its cost."""
    from runners.run.identity import run_name, telling
    common = {}
    for run in runs:  # what every run of its suite shares is not what tells it apart
        common[run.suite] = common.get(run.suite, set(run.overrides)) & set(run.overrides)
    out = []
    for run, row in zip(runs, costs(runs)):
        told = " ".join(telling(run.overrides, common[run.suite]))
        out.append(dict(run=f"{run.suite}: {run_name(run.cfg)}{' ' + told if told else ''}", **row))
    return out


def cost_key(overrides: list[str]) -> tuple:
    """What a run's cost depends on: its overrides less the seed and the protocol a suite tunes."""
    from runners.run.identity import COMPARED, among, key_of
    return tuple(o for o in overrides if not among(key_of(o), COMPARED) or key_of(o) == "model.name")


def write(name: str, planned: list[dict], results_dir: str) -> Path:
    path = Path(results_dir) / "plans" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "est_gpu_hours": f"{r['est_gpu_hours']:.4g}"} for r in planned)
    return path


def summary(name: str, planned: list[dict], path: Path) -> str:
    hours = sum(r["est_gpu_hours"] for r in planned)
    lines = [f"{r['run']}  {r['params']:,} params  {r['train_units']:.3g} {r['unit']}  "
             f"{r['est_gpu_hours']:.3g} GPU-h on {r['gpus'] or 'no'} GPU{'s' * (r['gpus'] != 1)}  "
             f"data {'ready' if r['data_ready'] == 'yes' else 'missing'}" for r in planned]
    missing = sorted({r["missing"] for r in planned if r["missing"]})
    lines += [f"plan {name}: {len(planned)} runs, {hours:,.{1 if hours >= 1 else 3}f} estimated GPU-hours (H100: "
              f"FLOPs at {UTILISATION:.0%} of the dense bf16 peak, at least {STEP_FLOOR_S} s a step; training only), "
              f"written to {path}"]
    if missing:
        lines += [f"data missing for {sum(r['data_ready'] != 'yes' for r in planned)} runs:", *(f"  {m}" for m in missing)]
    return "\n".join(lines)


def timeout_min(row: dict, margin: float = 1.5, floor: int = 30) -> int:
    """A job's time limit from its estimate: the wall time on its GPUs with a margin, at least `floor`."""
    wall_h = row["est_gpu_hours"] / max(row["gpus"], 1)
    return max(floor, math.ceil(wall_h * 60 * margin))
