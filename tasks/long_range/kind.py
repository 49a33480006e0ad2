"""The sequence-classification kind: token ids in (0 is padding), one of n classes out, scored by accuracy.
ListOps trained at several lengths is one row per model with a column per `max_length` (the pivot)."""
from __future__ import annotations

import torch

from ..classify import ClassifyTask
from ..kinds import Built, Kind, Planned, check_settings, register_kind, with_defaults
from ..vision.pathfinder import pathfinder
from .data import SequenceClassification
from .listops import PAD, VOCAB, shortest
from .sources import PIXEL_VOCAB, listops, mnist_sequence, pathfinder_sequence

DEFAULTS = dict(settings={}, batch_size=32, eval_batch_size=None)


def smnist(n_val: int | None = None, n_test: int | None = None, cache=None):
    return mnist_sequence(None, n_val, n_test, cache)


def psmnist(permutation_seed: int = 0, n_val: int | None = None, n_test: int | None = None, cache=None):
    return mnist_sequence(permutation_seed, n_val, n_test, cache)


SOURCES = {"listops": listops, "pathfinder_seq": pathfinder_sequence, "smnist": smnist, "psmnist": psmnist}


def _check_settings(task: str, settings: dict):
    # pathfinder_seq takes the image generator's settings
    check_settings(task, settings, pathfinder if task == "pathfinder_seq" else SOURCES[task], filled=("cache",))


def build(cfg, data: dict, make_model) -> Built:
    task, settings = data["task"], dict(data["settings"])
    _check_settings(task, settings)
    sequences = SOURCES[task](**settings, cache=cfg.data_root)
    seqs = SequenceClassification(sequences, data["batch_size"], data["eval_batch_size"], settings,
                                  shuffle_seed=cfg.seed)
    io = dict(vocab_size=sequences.vocab_size, n_classes=sequences.n_classes)
    return Built(data=seqs, task=ClassifyTask(make_model(**io), cfg), name=sequences.name, io=io,
                 primary="test/acc", directions={"acc": "max", "loss": "min"}, unit="tokens",
                 count=lambda batch: int((batch[0] != PAD).sum()), input_length=seqs.seqlen,
                 pivot="max_length" if task == "listops" else None)


def task_name(data: dict) -> str:
    if data["task"] == "pathfinder_seq":
        return f"pathfinder{data['settings'].get('size', 32)}_seq"
    return {"smnist": "smnist5k", "psmnist": "psmnist5k"}.get(data["task"], data["task"])


def plan(data: dict, cache: str) -> Planned:
    """Shapes from the settings alone (every set is generated or ships with a package, so none is missing);
    a ListOps expression holds between its minimum and maximum length, counted as their mean. The example is
    on the CPU: the classifiers look at which tokens are padding."""
    task, settings = data["task"], dict(data["settings"])
    _check_settings(task, settings)
    if task == "listops":
        longest = with_defaults(settings, listops)["max_length"]
        length, tokens = longest, (shortest(settings.get("min_length"), longest) + longest) / 2
        io = dict(vocab_size=len(VOCAB), n_classes=10)
    else:
        side = with_defaults(settings, pathfinder)["size"]
        length = side * side if task == "pathfinder_seq" else 28 * 28
        tokens = length
        io = dict(vocab_size=PIXEL_VOCAB, n_classes=2 if task == "pathfinder_seq" else 10)
    return Planned(io, "tokens", tokens, lambda n: (torch.ones(n, length, dtype=torch.long),), device="cpu")


KIND = register_kind(Kind("sequence", tuple(SOURCES), DEFAULTS, build, task_name, plan=plan))
