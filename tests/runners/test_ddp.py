"""DDP on the CPU (gloo, 2 processes): one record, written by rank 0, whose throughput counts both ranks'
units and which names the effective batch size; every epoch dealt out to the ranks without overlap."""
import json
import subprocess
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from runners.run.env import ROOT
from tasks.resume import Resumable, Share

RUN = ["pipeline=mqar", "model.name=mamba", "model.d_model=16", "data.n_train=64", "data.n_val=16",
       "data.n_test=16", "data.batch_size=8", "trainer.max_steps=8", "trainer.val_every_steps=4", "logger=none",
       "trainer.progress_bar=false"]


def _records(results):
    return [json.loads(line) for f in results.glob("records/*/*.jsonl") for line in f.read_text().splitlines()]


def _train(*overrides):
    done = subprocess.run([sys.executable, "-m", "runners.train", *RUN, *overrides], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_two_process_cpu_ddp_run_writes_one_record_counting_both_ranks(tmp_path):
    _train("trainer.threads=1", f"results_dir={tmp_path / 'one'}")
    _train("trainer=ddp_cpu", f"results_dir={tmp_path / 'ddp'}")
    [one], [ddp] = _records(tmp_path / "one"), _records(tmp_path / "ddp")
    assert ddp["status"] == "ok" and ddp["world_size"] == 2 and one["world_size"] == 1
    assert (one["effective_batch_size"], ddp["effective_batch_size"]) == (8, 16)
    # 64 samples deal out evenly: each rank trains as many tokens per step as the one process did
    assert ddp["train_units"] == 2 * one["train_units"] > 0
    # the throughput is both ranks' units over rank 0's time in training steps, not one rank's
    assert ddp["throughput"] == ddp["train_units"] / ddp["train_s"] and ddp["train_s"] > 0
    assert not list((tmp_path / "ddp").glob("checkpoints/*/*.ckpt"))


def test_shares_of_an_epoch_cover_it_without_overlap_and_are_equal():
    for n, world in ((64, 2), (10, 3), (7, 4)):
        shares = [list(Share(n, torch.Generator().manual_seed(5), rank, world)) for rank in range(world)]
        assert len({len(s) for s in shares}) == 1  # every rank takes the same number of steps
        flat = [i for s in shares for i in s]
        assert set(flat) == set(range(n)) and len(flat) - n == -n % world  # only the padding repeats
        if n % world == 0:
            assert len(set(flat)) == len(flat)


def _rank(rank, world, init, out):
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    loader = Resumable(DataLoader(torch.arange(40), batch_size=4, shuffle=True,
                                  generator=torch.Generator().manual_seed(0)))
    torch.save({"len": len(loader), "epochs": [[b.tolist() for b in loader] for _ in range(2)]}, f"{out}.{rank}")
    dist.destroy_process_group()


def test_a_resumable_loader_deals_each_epoch_to_the_ranks_of_a_process_group(tmp_path):
    mp.spawn(_rank, args=(2, f"file://{tmp_path / 'init'}", tmp_path / "seen"), nprocs=2)
    seen = [torch.load(tmp_path / f"seen.{r}") for r in range(2)]
    assert [s["len"] for s in seen] == [5, 5]  # 40 samples, 2 ranks, batches of 4
    for epoch in range(2):
        ranks = [sorted(i for b in s["epochs"][epoch] for i in b) for s in seen]
        assert not set(ranks[0]) & set(ranks[1]) and sorted(ranks[0] + ranks[1]) == list(range(40))
    assert seen[0]["epochs"][0] != seen[0]["epochs"][1]  # reshuffled every epoch
