"""Decoding benchmark: tokens/s and decoding-state memory against generated length, Mamba, Mamba-2 and
Transformer++ of equal parameters (their registry variants at the byte vocabulary).

    python -m runners.bench.decode                                  # CPU, lengths 128 .. 8192, batch 1 and 8
    python -m runners.bench.decode --lengths 128,1024 --batches 1 --models mamba,transformerpp
    python -m runners.bench.decode --device cuda --size paper       # Mamba-130M against Transformer++ 125M

Each measurement prefills a 16-byte prompt in one parallel pass, then decodes `length` tokens one recurrent
step at a time (greedy), as LanguageModel.generate does; tokens/s counts every sequence of the batch. The
state is what a sequence carries after the last token: the SSMs' fixed conv window and scan state, attention's
KV cache (2 x length x d_model floats per attention block). Before it times a model, the benchmark checks that
its decoding reproduces the argmax of its parallel forward; a model that does not is REFUSED and left out.
The numbers are ratios to read within one run (the same machine, the same minute), not absolute speeds.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

import zoo

from runners.bench.measure import sync
from runners.run import env

PROMPT = 16


def decoding_matches(model, vocab: int) -> bool:
    ids = torch.randint(0, vocab, (2, PROMPT), generator=torch.Generator().manual_seed(0)).to(_device(model))
    out = model.generate(ids, 24)
    with torch.no_grad():
        return torch.equal(out[:, PROMPT:], model(out[:, :-1])[:, PROMPT - 1:].argmax(-1))


def _device(model) -> torch.device:
    return next(model.parameters()).device


def measure(model, batch: int, length: int, vocab: int) -> dict:
    device = _device(model)
    ids = torch.randint(0, vocab, (batch, PROMPT), generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        h, state = model.backbone.prefill(model.embed(ids))
        token = model.head(h[:, -1]).argmax(-1)
        sync(device)
        start = time.perf_counter()
        for _ in range(length):
            h, state = model.backbone.step(model.embed(token), state)
            token = model.head(h).argmax(-1)
        sync(device)
        seconds = time.perf_counter() - start
    # the floats the model says a sequence carries after the prompt and `length` tokens (tests check that
    # state_size counts the tensors step() returns), in the float32 of this benchmark
    state_bytes = model.state_size(PROMPT + length) * torch.float32.itemsize
    return dict(batch=batch, length=length, seconds=round(seconds, 4), tokens_per_s=round(batch * length / seconds, 1),
                state_bytes_per_sequence=state_bytes)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.bench.decode", description=__doc__.split("\n")[0])
    p.add_argument("--models", default="mamba,mamba2,transformerpp")
    p.add_argument("--lengths", default="128,512,2048,8192")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--size", default=None, help="a registry size of every model (e.g. paper); default: the CPU size")
    p.add_argument("--out", default=None, help="CSV path (default results/benchmarks/decode_<device>.csv)")
    a = p.parse_args(argv)
    from tqdm import tqdm

    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_decode: --device cuda asked for, but torch sees no CUDA device")
    torch.set_num_threads(a.threads)
    lengths, batches = [int(n) for n in a.lengths.split(",")], [int(n) for n in a.batches.split(",")]
    rows = []
    for name in a.models.split(","):
        torch.manual_seed(0)
        sized = {} if a.size is None else {"size": a.size}
        model = zoo.create_model(name, vocab_size=a.vocab, **sized).to(device).eval()
        if not decoding_matches(model, a.vocab):
            print(f"{name}: REFUSED, its decoding differs from the argmax of its parallel forward")
            continue
        params = zoo.count_parameters(model)
        for batch in batches:
            for length in tqdm(lengths, desc=f"{name} batch {batch}", leave=False):
                row = dict(model=name, params=params, **measure(model, batch, length, a.vocab))
                rows.append(row)
                print(f"{name} batch={batch} length={length}: {row['tokens_per_s']:,.0f} tokens/s, "
                      f"state {row['state_bytes_per_sequence']:,} bytes per sequence")
    if not rows:
        raise SystemExit("bench_decode: no model was measured (every one refused, or --models named none)")
    out = Path(a.out or f"results/benchmarks/decode_{env.device_slug(device)}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*rows[0], "threads", "device", "torch"])
        w.writeheader()
        for row in rows:
            w.writerow({**row, "threads": a.threads, "device": env.device_name(device), "torch": torch.__version__})
    plots(rows, out.with_suffix(""))
    print(f"wrote {out} and its plots")
    return 0


def plots(rows: list[dict], stem: Path):
    from runners.report.plots import colours, length_plot
    colour = colours({r["model"] for r in rows})
    series = lambda key, batch: [  # noqa: E731
        dict(label=f"{m} (batch {batch})", colour=colour[m], x=[r["length"] for r in mine],
             mean=[r[key] for r in mine], std=[0.0] * len(mine))
        for m in dict.fromkeys(r["model"] for r in rows)
        for mine in [[r for r in rows if r["model"] == m and r["batch"] == batch]] if mine]
    batches = sorted({r["batch"] for r in rows})
    length_plot(Path(f"{stem}_tokens.svg"), "decoding throughput against generated length", "tokens/s",
                [s for b in batches for s in series("tokens_per_s", b)], [], [],
                xlabel="generated length (tokens, log2 scale)", percent=False)
    length_plot(Path(f"{stem}_state.svg"), "decoding state per sequence", "bytes",
                series("state_bytes_per_sequence", batches[0]), [], [],
                xlabel="generated length (tokens, log2 scale)", percent=False)


if __name__ == "__main__":
    raise SystemExit(main())
