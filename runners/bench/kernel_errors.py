"""The Triton scan kernels against the float64 oracle, for every kernel combination the mixers use.

    python -m runners.bench.kernel_errors --device cuda --out results/benchmarks/kernel_errors_h200.csv

The combinations are not listed by hand. Each mixer that calls the scan core (every mixer of
zoo.layers.MIXERS, Mamba+'s forget gate and the multi-walk vision mixer with its direction embedding) runs
one forward on the CPU while the calls are recorded, so a new mixer option that changes a call shows up
here by itself. Each combination then runs at a shape of several tiles, with float32 and with bfloat16
activations (parameters stay float32, as under autocast), forward and backward: the triton backend on
`--device` against the naive backend in float64 on the CPU, fed the same rounded inputs and the same
cotangent. One CSV row per combination, dtype and quantity: the largest absolute error, the oracle's
largest magnitude, and the largest ratio of error to zoo.ops.probe's tolerance, atol + rtol |oracle| (<= 1: within it).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from unittest import mock

import torch

from zoo.layers import MIXERS, Mamba1Mixer
from zoo.layers.multiscan import MultiScanMamba
from zoo.ops import dispatch, probe
from zoo.scan.plan import image_scan

D_MODEL = 64  # Mamba-2's default head of 64 channels needs expand * d_model divisible by 64
PARAMS = ("A", "D", "delta_bias", "dt_bias", "initial_state", "initial_states")
FIELDS = ["op", "mixers", "combination", "dtype", "quantity", "max_abs_err", "oracle_max_abs", "tol_ratio",
          "within_tolerance"]


def mixers(d_model: int = D_MODEL) -> dict[str, torch.nn.Module]:
    """Every mixer configuration whose scan-core call differs in the flags, layouts or dtypes it passes."""
    torch.manual_seed(0)
    found = {f"{cls.__name__}": cls(d_model) for cls in MIXERS.values()}
    found["Mamba1Mixer(forget_gate)"] = Mamba1Mixer(d_model, forget_gate=True)
    grid = (4, 4)
    found["MultiScanMamba(bidirectional, direction_embedding)"] = MultiScanMamba(
        d_model, image_scan("sweep", "bidirectional", *grid), grid=grid, direction_embedding=True)
    return found


def combination(op: str, call: dict) -> tuple:
    """What selects a kernel, without the sizes: the inputs present, their dtypes, the flags, B's layout."""
    B = call["B"]  # (batch, groups, dstate, seqlen) or (dim, dstate) in selective_scan; (batch, seqlen, groups, dstate) in ssd
    groups = B.shape[1 if op == "selective_scan" else 2] if B.dim() == 4 else 0
    layout = "time-invariant" if not groups else "one group" if groups == 1 else "a group per walk"
    extra = (("D", f"{call['D'].dim()}-d"),) if op == "ssd" and call.get("D") is not None else ()
    return (op, layout) + probe.dtypes_and_flags({k: v for k, v in call.items() if k != "chunk_size"}) + extra


def recorded_calls(found: dict[str, torch.nn.Module], seqlen: int = 16) -> dict[tuple, dict]:
    """combination -> {"call": one recorded call, "mixers": names of the mixers that make it}."""
    calls, current = {}, {}
    resolve = dispatch.resolve

    def spy(op, backend, device, call):
        entry = calls.setdefault(combination(op, call), {"op": op, "call": call, "mixers": []})
        if current["name"] not in entry["mixers"]:
            entry["mixers"].append(current["name"])
        return resolve(op, backend, device, call)

    with mock.patch.object(dispatch, "resolve", spy), torch.no_grad():
        for name, mixer in found.items():
            current["name"] = name
            mixer(torch.randn(2, seqlen, D_MODEL))
    return calls


def shapes(op: str, call: dict, size: dict) -> dict[str, tuple]:
    """Input shapes of a problem of `size` with the recorded call's layout (groups, D's shape)."""
    if op == "selective_scan":
        b, d, n, L = size["batch"], size["dim"], size["dstate"], size["seqlen"]
        B = call["B"]
        bc = (d, n) if B.dim() == 2 else (b, B.shape[1], n, L) if B.dim() == 4 else (b, n, L)
        return dict(u=(b, d, L), delta=(b, d, L), z=(b, d, L), A=(d, n), B=bc, C=bc, D=(d,), delta_bias=(d,),
                    initial_state=(b, d, n), mask=(b, L))
    b, L, h, p, n = size["batch"], size["seqlen"], size["nheads"], size["headdim"], size["dstate"]
    g = call["B"].shape[2]
    D = (h,) if call.get("D") is None or call["D"].dim() == 1 else (h, p)
    return dict(x=(b, L, h, p), dt=(b, L, h), z=(b, L, h, p), A=(h,), B=(b, L, g, n), C=(b, L, g, n), D=D,
                dt_bias=(h,), initial_states=(b, h, p, n), mask=(b, L))


def problem(op: str, call: dict, size: dict, dtype: torch.dtype) -> dict:
    """Random inputs (zoo.ops.probe's conventions) in `dtype`, the parameters in float32."""
    inputs = probe.small_like(call, shapes(op, call, size))
    return {k: v.to(torch.float32 if k in PARAMS else dtype) if torch.is_tensor(v) and v.is_floating_point() else v
            for k, v in inputs.items()}


def errors(op: str, call: dict, size: dict, dtype: torch.dtype, device: torch.device) -> list[dict]:
    inputs = problem(op, call, size, dtype)
    oracle = {k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v for k, v in inputs.items()}
    want = probe.outputs_and_grads(dispatch.backend_module(op, "naive").scan, oracle)
    got = probe.outputs_and_grads(dispatch.backend_module(op, "triton").scan,
                                  {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()})
    rtol, atol = probe.TOL[dtype]
    rows = []
    for name, ref in want.items():
        k = probe.GRAD_LOOSER if name.startswith("grad") else 1
        out = got[name].detach().cpu().double()
        err = (out - ref).abs()
        ratio = (err / (k * (atol + rtol * ref.abs()))).max().item() if torch.isfinite(out).all() else float("inf")
        rows.append(dict(quantity=name, max_abs_err=float(err.max()), oracle_max_abs=float(ref.abs().max()),
                         tol_ratio=ratio, within_tolerance=ratio <= 1))
    return rows


SIZES = {"full": {"selective_scan": dict(batch=2, dim=128, dstate=16, seqlen=600),
                  "ssd": dict(batch=2, seqlen=600, nheads=4, headdim=64, dstate=64)},
         "small": {"selective_scan": dict(batch=1, dim=8, dstate=4, seqlen=40),
                   "ssd": dict(batch=1, seqlen=40, nheads=2, headdim=4, dstate=4)}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.bench.kernel_errors", description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", default="full", choices=list(SIZES), help="small: a dry run under TRITON_INTERPRET=1")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    device = torch.device(a.device)
    calls = recorded_calls(mixers())
    rows, failed = [], 0
    for key, entry in calls.items():
        op, call = entry["op"], entry["call"]
        flags = _describe(key)
        for dtype in a.dtypes.split(","):
            for row in errors(op, call, SIZES[a.size][op], getattr(torch, dtype), device):
                rows.append(dict(op=op, mixers="; ".join(entry["mixers"]), combination=flags, dtype=dtype, **row))
                failed += not row["within_tolerance"]
                print(f"{op:14} {dtype:8} {row['quantity']:22} err {row['max_abs_err']:.3g} "
                      f"(x{row['tol_ratio']:.2f} of tolerance)  [{flags}]", flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out}: {len(calls)} combinations, {len(rows)} rows, {failed} outside tolerance")
    return 1 if failed else 0


def _describe(key: tuple) -> str:
    """('selective_scan', 'one group', ('A', 'float32'), ..., ('D', '1-d')) -> 'one group B/C; A ... D 1-d'."""
    op, layout, *items = key
    shape = dict(i for i in items if str(i[1]).endswith("-d"))   # D's layout, added by combination() for ssd
    names = dict.fromkeys(f"{n} {shape[n]}" if n in shape else n for n, kind in items
                          if kind not in (None, False) and not str(kind).endswith("-d"))
    return f"{layout} B/C; " + " ".join(names)

if __name__ == "__main__":
    sys.exit(main())
