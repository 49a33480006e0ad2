"""The sequence-classification kind: token ids in (0 is padding), one of n classes out, scored by accuracy.
ListOps trained at several lengths is one row per model with a column per `max_length` (the pivot)."""
from __future__ import annotations

from ..classify import ClassifyTask
from ..kinds import Built, Kind, check_settings, register_kind
from ..vision.pathfinder import pathfinder
from .data import SequenceClassification
from .listops import PAD
from .sources import listops, mnist_sequence, pathfinder_sequence

DEFAULTS = dict(settings={}, batch_size=32, eval_batch_size=None)


def smnist(cache=None):
    return mnist_sequence(None, cache)


def psmnist(permutation_seed: int = 0, cache=None):
    return mnist_sequence(permutation_seed, cache)


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


KIND = register_kind(Kind("sequence", tuple(SOURCES), DEFAULTS, build, task_name))
