"""Sample text from a recorded byte-level run, with the weights it tested (results/weights/).

    python -m runners.generate wiki_bytes/mamba/s0 --prompt "<page>\\n    <title>"
    python -m runners.generate wiki_bytes/transformerpp/s1 --suite language_modeling --temperature 0.8 --top-p 0.9

The prompt is read in one parallel pass, then one recurrent step per new byte (zoo.language.sampling:
greedy by default). A run is named as its record is (pipeline/model/seed); where several suites hold it,
--suite picks one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runners.run.config import UsageError
from runners.run.env import ROOT


def find_run(results: Path, run: str, suite: str | None) -> tuple[dict, Path]:
    """The newest finished record of `run` whose weights are here, and their file. Committed records come
    without weights (they stay on the machine that trained them), so a record without them is passed over."""
    from runners.run.checkpoints import weights_path
    from runners.run.records import load_records
    found = [r for r in load_records(results / "records") if r.get("run_name") == run and r.get("status") == "ok"
             and (suite is None or r.get("suite") == suite)]
    if not found:
        raise UsageError(f"no finished run {run!r}{f' in suite {suite}' if suite else ''} under {results}/records")
    if found[0].get("primary_metric") != "test/bpb":
        raise UsageError(f"run {run!r} is no byte-level language model (its metric is "
                         f"{found[0].get('primary_metric')}); runners.generate samples text from byte-level runs")
    kept = [(r, weights_path(results, r["suite"], r["run_name"], r["config_hash"])) for r in found]
    kept = [(r, path) for r, path in kept if path.is_file()]
    if not kept:
        raise UsageError(f"run {run!r} has no saved weights here (they stay on the machine that trained it, unless "
                         f"it ran with trainer.keep_weights=false); train it again: {found[0]['command']}")
    suites = sorted({r["suite"] for r, _ in kept})
    if len(suites) > 1:
        raise UsageError(f"run {run!r} has weights in suites {', '.join(suites)}: pick one with --suite")
    return max(kept, key=lambda found: found[0].get("finished_at", ""))


def load_model(record: dict, path: Path):
    import torch

    import zoo
    model = zoo.create_model(record["model"], vocab_size=256, **record["model_config"])
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.generate", description=__doc__.split("\n")[0])
    p.add_argument("run", help="pipeline/model/seed, e.g. wiki_bytes/mamba/s0")
    p.add_argument("--prompt", required=True, help="text to continue (UTF-8; \\n and \\t are read as newline and tab)")
    p.add_argument("--max-new", type=int, default=200, help="bytes to generate")
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=0, help="of the sampling generator")
    p.add_argument("--suite", default=None)
    p.add_argument("--results", default=str(ROOT / "results"))
    a = p.parse_args(argv)
    import torch

    from zoo.language.sampling import check_sampling
    prompt = a.prompt.replace("\\n", "\n").replace("\\t", "\t").encode("utf-8")
    if not prompt:
        raise UsageError("--prompt is empty: give at least one byte to continue")
    if a.max_new < 1:
        raise UsageError(f"--max-new={a.max_new}: give a positive number of bytes")
    try:
        check_sampling(a.temperature, a.top_k, a.top_p)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    results = Path(a.results)
    model = load_model(*find_run(results, a.run, a.suite))
    ids = torch.tensor(list(prompt))[None]
    out = model.generate(ids, a.max_new, a.temperature, a.top_k, a.top_p, torch.Generator().manual_seed(a.seed))
    sys.stdout.write(bytes(out[0].tolist()).decode("utf-8", errors="replace") + "\n")
    return 0
