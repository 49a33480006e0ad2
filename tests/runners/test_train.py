"""One run: its record, its reproducibility, and the one-line errors of bad input (with no record left)."""
import dataclasses
import subprocess
import sys

import pytest
import torch

from runners.run import identity, train
from runners.run.config import UsageError, compose
from runners.run.records import load_records

from .tiny import TINY


def run(tmp_path, *overrides):
    overrides = [*TINY, *overrides]
    cfg = compose("train", [*overrides, f"results_dir={tmp_path}"])
    return train.run(cfg, overrides)


def test_record_has_what_the_leaderboard_needs(tmp_path):
    rec = run(tmp_path, "pipeline=induction_heads", "model.name=mamba", "seed=3")
    assert rec["status"] == "ok"
    assert load_records(tmp_path / "records") == [rec | {"schema": 1}]
    assert rec["run_name"] == "induction_heads/mamba/s3" and rec["suite"] == "adhoc"
    lengths = rec["data"]["eval_lengths"]
    assert {f"test/acc@{n}" for n in lengths} | {"test/acc", "val/acc"} <= set(rec["metrics"])
    assert all(0 <= rec["metrics"][f"test/acc@{n}"] <= 1 for n in lengths)
    assert rec["taxonomy"]["section"].startswith("Mamba-1") and rec["model_config"]["d_model"] == 16
    (op, used), = rec["scan_backend"].items()  # one backend, the one auto takes on the CPU
    (backend, calls), = used.items()
    assert op == "selective_scan" and backend in ("fused", "chunked") and calls > 0
    assert rec["params"] > 0 and rec["state_size"] > 0 and rec["throughput"] > 0
    assert rec["throughput_unit"] == "tokens" and rec["primary_metric"] == "test/acc"
    assert rec["metric_directions"]["acc"] == "max" and rec["pivot"] is None
    # in a process that ran other tests freed memory is reused, so only >= 0 holds here; a fresh
    # process (each run of a suite) measures > 0, see test_compare
    assert rec["peak_mem_mb"] >= 0
    assert rec["command"].startswith("python -m runners.train ") and "seed=3" in rec["command"]
    assert "results_dir" not in rec["command"]
    for key in ("device", "versions", "git_commit", "config_hash", "wall_time_s", "finished_at"):
        assert rec[key]
    # float results depend on the instruction set, which a CPU's marketing name does not tell
    assert rec["device"].startswith("cpu: ") and f", {torch.backends.cpu.get_cpu_capability()} (" in rec["device"]


def test_same_command_and_seed_give_identical_metrics(tmp_path):
    """The leaderboard's promise: its command, run again in a fresh process, gives the same numbers."""
    first = run(tmp_path / "a", "pipeline=mqar", "model.name=mamba2", "seed=1")
    args = [sys.executable, "-m", "runners.train", *first["command"].split()[3:], f"results_dir={tmp_path / 'b'}"]
    subprocess.run(args, check=True, capture_output=True)
    [again] = load_records(tmp_path / "b" / "records")
    other = run(tmp_path / "c", "pipeline=mqar", "model.name=mamba2", "seed=2")
    assert first["metrics"] == again["metrics"] and first["config_hash"] == again["config_hash"]
    assert other["metrics"]["train/loss"] != first["metrics"]["train/loss"]


def test_models_see_the_same_batches_whatever_their_initialisation(tmp_path):
    from tasks.kinds import build
    cfg = compose("train", [*TINY, "pipeline=mqar", f"results_dir={tmp_path}"])
    orders = []
    for draws in (0, 1000):  # a model whose initialisation draws more random numbers than another's
        torch.manual_seed(cfg.seed)
        data = build(cfg, lambda vocab_size: (torch.randn(draws), torch.nn.Linear(1, 1))[1]).data
        data.setup()
        orders.append(next(iter(data.train_dataloader()))[0])
    assert torch.equal(*orders)


def test_hash_does_not_depend_on_the_thread_count():
    """A suite stopped on a 2-core machine resumes on a 16-core one: threads are recorded, not hashed."""
    base = ["pipeline=mqar", "model.name=mamba"]
    assert identity.config_hash(compose("train", [*base, "trainer.threads=1"])) == \
        identity.config_hash(compose("train", [*base, "trainer.threads=8"])) == identity.config_hash(compose("train", base))
    assert identity.config_hash(compose("train", [*base, "optim.lr=0.01"])) != identity.config_hash(compose("train", base))


def test_hash_follows_the_resolved_model_not_the_command(monkeypatch):
    from zoo import registry
    plain = compose("train", ["model.name=mamba2"])
    same = compose("train", ["model.name=mamba2", "model.mixers.mamba2.d_state=64"])  # 64 is its default
    before = identity.config_hash(plain)
    assert before == identity.config_hash(same)
    entry = registry.model_info("mamba2")
    monkeypatch.setitem(registry._MODELS, "mamba2", dataclasses.replace(entry, defaults={**entry.defaults, "d_model": 48}))
    assert identity.config_hash(plain) != before  # editing a variant file reruns the runs that use it


def test_a_builder_change_makes_only_its_own_models_records_stale(monkeypatch):
    """A record is found by its hash: raising a builder's revision (its code computes something else) or
    changing one of its defaults must change the hash of its models' runs, and of no other builder's."""
    import inspect

    from zoo import registry
    lm, vision = (compose("train", [f"pipeline={p}", f"model.name={m}"]) for p, m in (("mqar", "mamba"),
                                                                                    ("mnist", "vim")))
    before = identity.config_hash(lm), identity.config_hash(vision)
    monkeypatch.setitem(registry._REVISIONS, "language_model", registry._REVISIONS["language_model"] + 1)
    assert identity.config_hash(lm) != before[0] and identity.config_hash(vision) == before[1]
    monkeypatch.undo()
    assert (identity.config_hash(lm), identity.config_hash(vision)) == before
    builder = registry._BUILDERS["language_model"]
    signature = inspect.signature(builder)
    changed = signature.replace(parameters=[p.replace(default="torch") if p.name == "init" else p
                                            for p in signature.parameters.values()])
    monkeypatch.setattr(builder, "__signature__", changed, raising=False)
    assert identity.config_hash(lm) != before[0] and identity.config_hash(vision) == before[1]
    monkeypatch.setattr(registry, "CORE_REVISION", registry.CORE_REVISION + 1)
    assert identity.config_hash(vision) != before[1]


def test_a_solved_task_stops_at_the_validation_that_solved_it(tmp_path):
    budget = ["pipeline=induction_heads", "trainer.max_steps=12", "trainer.val_every_steps=2", "data.n_val=64"]
    full = run(tmp_path / "full", *budget)
    # any accuracy above 0 counts as solved here: the first validation that scores a hit stops the run
    solved = run(tmp_path / "solved", *budget, "trainer.solved_at=1e-6")
    assert full["steps"] == 12 and solved["steps"] < 12 and solved["steps"] % 2 == 0
    assert solved["metrics"]["val/acc"] > 0
    assert solved["config_hash"] != full["config_hash"] and "trainer.solved_at=1e-6" in solved["command"]


def test_a_run_that_dies_is_recorded_as_failed(tmp_path, monkeypatch):
    from tasks.language.task import TokenTask

    def diverge(self, batch, batch_idx):
        raise FloatingPointError("training loss became nan at step 1\nsecond line")
    monkeypatch.setattr(TokenTask, "training_step", diverge)
    rec = run(tmp_path, "pipeline=mqar", "model.name=transformerpp")
    assert rec["status"] == "failed" and rec["error"] == "FloatingPointError: training loss became nan at step 1"
    assert load_records(tmp_path / "records")[0]["status"] == "failed"


def fails_in_one_line(runner, tmp_path, overrides, message):
    """`runner` refuses the settings with a one-line UsageError matching `message` and writes no record."""
    with pytest.raises(UsageError, match=message) as err:
        runner(tmp_path, *overrides)
    assert "\n" not in str(err.value)
    assert load_records(tmp_path / "records") == []


@pytest.mark.parametrize("overrides, message", [
    (["model.name=mamba3"], r"unknown model 'mamba3'.*did you mean mamba"),
    (["model.name=mamba", "model.d_stat=4"], r"no setting 'd_stat'"),
    (["pipeline=mqar", "data.settings.num_kv_pairs=40"], r"num_kv_pairs=40"),
    (["pipeline=induction_heads", "+data.settings.pairs=3"], r"data.settings has \['pairs'\]"),
    (["logger.kind=tensorboard"], r"logger.kind='tensorboard'"),
    (["pipeline=mqar", "+data.n_tset=3"], r"data.n_tset is no setting of token data; did you mean 'n_test'"),
    (["pipeline=mqar", "data.task=mqr"], r"data.task='mqr' is no task; did you mean 'mqar'"),
    (["pipeline=mqar", "+model.vocab_size=9"], r"model.vocab_size is decided by the data \(vocab_size=64\)"),
    (["trainer.patience=0"], r"trainer.patience=0: give a positive number"),
    (["trainer.solved_at=1.5"], r"trainer.solved_at=1.5: give an accuracy in \(0, 1\], or null"),
    (["optim.lr=nan"], r"optim.lr=nan: give a finite learning rate above 0"),
    (["optim.lr=inf"], r"optim.lr=inf: give a finite learning rate above 0"),
    (["optim.lr=0"], r"optim.lr=0(\.0)?: give a finite learning rate above 0"),
    (["optim.weight_decay=-0.1"], r"optim.weight_decay=-0.1: give a finite number of 0 or more"),
    (["optim.grad_clip=nan"], r"optim.grad_clip=nan: give a finite norm above 0, or null"),
    (["model.name=mamba", "model.d_model=-3"], r"model.d_model must be a positive number \(default 64\), got -3"),
])
def test_bad_settings_fail_in_one_line_before_any_record(tmp_path, overrides, message):
    fails_in_one_line(run, tmp_path, overrides, message)


def test_missing_optional_dependency_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "wandb", None)  # import wandb now raises ImportError
    with pytest.raises(UsageError, match=r"pip install 'mambazoo\[wandb\]'"):
        run(tmp_path, "logger=wandb")
    assert load_records(tmp_path / "records") == []


def test_unwritable_results_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"results directory .*file is not writable"):
        run(blocker)


def test_cli_prints_one_line_and_exits_2(capsys):
    from runners.run.config import main_guard
    assert main_guard(lambda: train.main(["pipeline=nope"]), "train") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train: error:") and "pipeline/nope" in err and "\n" not in err


def test_any_ett_format_csv_runs_with_data_path_alone(tmp_path):
    """Another series: only data.path changes; the split falls back to 70/10/20 for a name that is not ETT."""
    rng = torch.Generator().manual_seed(0)
    walk = torch.randn(400, 3, generator=rng).cumsum(0)
    lines = ["date,a,b,OT"] + [f"2021-01-01 {i:04d}," + ",".join(f"{v:.4f}" for v in row.tolist())
                               for i, row in enumerate(walk)]
    (tmp_path / "my_series.csv").write_text("\n".join(lines) + "\n")
    from .tiny import TINY_FORECAST
    overrides = ["pipeline=etth1", "model.name=dlinear", f"data.path={tmp_path / 'my_series.csv'}", *TINY_FORECAST]
    rec = train.run(compose("train", [*overrides, f"results_dir={tmp_path}"]), overrides)
    assert rec["status"] == "ok" and rec["task"] == "my_series"
    assert rec["data"]["split"] == "ratio" and rec["data"]["variables"] == 3
    assert rec["primary_metric"] == "test/mse" and 0 < rec["metrics"]["test/mse"] < 10


def image_run(tmp_path, *overrides):
    from .tiny import tiny
    overrides = ["pipeline=digits", *overrides]
    overrides += tiny(overrides)
    return train.run(compose("train", [*overrides, f"results_dir={tmp_path}"]), overrides)


def test_an_image_run_records_accuracy_in_images_per_second(tmp_path):
    rec = image_run(tmp_path, "model.name=vim", "model.patch_size=2")
    assert rec["status"] == "ok" and rec["task"] == "digits" and rec["throughput_unit"] == "images"
    assert rec["primary_metric"] == "test/acc" and rec["metric_directions"]["acc"] == "max"
    assert 0 <= rec["metrics"]["test/acc"] <= 1 and rec["data"]["sizes"] == {"train": 1257, "val": 180, "test": 360}
    assert rec["state_size"] > 0 and rec["scan_backend"]


@pytest.mark.parametrize("overrides, message", [
    (["model.name=vim", "model.order=spiral"], r"scan order 'spiral' is unknown"),
    (["model.name=vim", "model.patch_size=3"], r"image size 8x8 is not divisible by patch_size=3"),
    (["model.name=localmamba", "model.patch_size=4"], r"scan order 'local:4': the window is larger than the 2x2 grid"),
    (["model.name=vit", "+model.embed_dimm=8"], r"embed_dimm"),
    (["model.name=vim", "+data.settings.size=16"], r"data.settings is for the pathfinder generator"),
])
def test_bad_image_settings_fail_in_one_line_before_any_record(tmp_path, overrides, message):
    fails_in_one_line(image_run, tmp_path, overrides, message)


def graph_run(tmp_path, *overrides):
    from .tiny import tiny
    overrides = [*tiny(list(overrides)), *overrides]  # a test's own settings last, so they win
    return train.run(compose("train", [*overrides, f"results_dir={tmp_path}", f"data_root={tmp_path}"]), overrides)


def test_a_node_classification_run_records_balanced_accuracy_and_order_counts(tmp_path):
    rec = graph_run(tmp_path, "pipeline=pattern", "model.name=graph_mamba")
    assert rec["status"] == "ok" and rec["task"] == "PATTERN" and rec["throughput_unit"] == "nodes"
    assert rec["primary_metric"] == "test/acc" and rec["metric_directions"]["acc"] == "max"
    assert rec["data"]["sizes"] == {"train": 16, "val": 8, "test": 8}
    assert {f"test/acc@{p}" for p in (1, 2, 3, 5)} <= set(rec["metrics"])
    assert all(0 <= rec["metrics"][k] <= 1 for k in rec["metrics"] if k.startswith("test/acc"))


def test_a_molecule_run_records_mae_and_an_unordered_model_no_order_counts(tmp_path):
    rec = graph_run(tmp_path, "pipeline=freesolv", "model.name=gps")
    assert rec["status"] == "ok" and rec["task"] == "FreeSolv" and rec["throughput_unit"] == "graphs"
    assert rec["primary_metric"] == "test/mae" and rec["metric_directions"]["mae"] == "min"
    assert 0 < rec["metrics"]["test/mae"] < 20 and not any("@" in k for k in rec["metrics"])


@pytest.mark.parametrize("overrides, message", [
    (["pipeline=pattern", "model.name=graph_mamba", "model.order=spiral"], r"unknown graph order 'spiral'"),
    (["pipeline=cluster", "model.name=gps", "data.n_train=0"], r"data.n_train=0: give a positive integer"),
    (["pipeline=pattern", "model.name=gps", "data.test_perms=[0]"], r"data.test_perms=\[0\]"),
    (["pipeline=freesolv", "model.name=gps", "data.path=/nonexistent.csv"], r"data.path=/nonexistent.csv: no such file"),
    (["pipeline=pattern", "model.name=gps", "model.node_features=[5]"], r"model.node_features is decided by the data"),
])
def test_bad_graph_settings_fail_in_one_line_before_any_record(tmp_path, overrides, message):
    fails_in_one_line(graph_run, tmp_path, overrides, message)


def test_a_missing_graph_extra_is_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # as if mambazoo[graph] were not installed
    fails_in_one_line(graph_run, tmp_path, ["pipeline=freesolv", "model.name=gps"], r"pip install 'mambazoo\[graph\]'")
