"""A run killed with SIGKILL resumes from its last checkpoint to the record an uninterrupted run writes; the
checkpoint goes once the record is written; the data order of a resumed loader is the uninterrupted one."""
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader

from runners.run import train
from runners.run.config import compose
from runners.run.env import ROOT
from runners.run.records import load_records
from tasks.resume import Resumable

# MQAR with 4 batches per epoch, so 160 steps cross 40 epochs; dropout (the global generator) and early
# stopping (a callback's state) both have to come back for the records to match
RUN = ["pipeline=mqar", "model.name=mamba", "model.d_model=16", "model.dropout=0.1", "data.n_train=64",
       "data.n_val=16", "data.n_test=16", "data.batch_size=16", "trainer.max_steps=160",
       "trainer.val_every_steps=10", "trainer.patience=50", "trainer.threads=1", "trainer.progress_bar=false",
       "logger=none"]


def test_a_killed_run_resumes_from_its_checkpoint_to_the_uninterrupted_record(tmp_path):
    whole = train.run(compose("train", [*RUN, f"results_dir={tmp_path / 'whole'}"]), RUN)
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "runners.train", *RUN, f"results_dir={killed}"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(killed.glob("checkpoints/*/*.ckpt")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(killed.glob("checkpoints/*/*.ckpt")) and load_records(killed / "records") == []  # killed mid-run

    resumed = train.run(compose("train", [*RUN, f"results_dir={killed}"]), RUN)
    assert resumed["status"] == "ok" and 0 < resumed["resumed_from_step"] < 160
    assert resumed["metrics"] == whole["metrics"] and resumed["config_hash"] == whole["config_hash"]
    assert not list(killed.glob("checkpoints/*/*.ckpt"))  # the record is written: the checkpoint is gone


def test_a_kept_checkpoint_stays_and_loads_with_weights_only(tmp_path):
    run = [*RUN, "trainer.max_steps=30", "trainer.keep_checkpoint=true", f"results_dir={tmp_path}"]
    train.run(compose("train", run), run)
    [saved] = tmp_path.glob("checkpoints/*/*.ckpt")
    state = torch.load(saved, weights_only=True)
    assert state["global_step"] == 20 and "mambazoo" in state  # the last validation before the end


def test_a_resumed_loader_gives_the_batches_of_an_uninterrupted_one():
    def loader():
        return Resumable(DataLoader(torch.arange(10), batch_size=3, shuffle=True,
                                    generator=torch.Generator().manual_seed(0)))

    straight = loader()
    order = [b.tolist() for _ in range(3) for b in straight]  # 3 epochs of 4 batches
    for steps in (1, 4, 6):  # mid-epoch, at an epoch's end, mid-epoch of the second
        first = loader()
        seen = []
        for _ in range(3):
            for b in first:
                seen.append(b.tolist())
                if len(seen) == steps:
                    break
            if len(seen) == steps:
                break
        state = first.state_after(steps)
        again = loader()
        again.restore(state)
        rest = [b.tolist() for _ in range(3) for b in again][: len(order) - steps]
        assert seen + rest == order


@pytest.mark.parametrize("budget", [
    ["trainer.max_steps=200", "trainer.val_every_steps=5", "trainer.patience=1"],  # stops early, before 200
    ["trainer.max_steps=30", "trainer.val_every_steps=12"],  # the last validation is at step 24
], ids=["early-stop", "last-validation-before-the-end"])
def test_a_run_started_again_from_its_last_checkpoint_writes_the_same_record(tmp_path, budget):
    run = [*RUN, *budget, "trainer.keep_checkpoint=true", f"results_dir={tmp_path}"]
    first = train.run(compose("train", run), run)
    again = train.run(compose("train", run), run)  # resumes from the kept checkpoint
    assert again.get("resumed_from_step") and again["metrics"] == first["metrics"]
    assert any(k.startswith("val/") for k in again["metrics"])
