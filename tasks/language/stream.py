"""Corpora too large to hold, streamed through Hugging Face `datasets` and packed into windows of tokens.

The hub names (each with train / validation / test splits and a `text` column):
* `pile`: monology/pile-uncopyrighted, the Pile without its copyrighted parts (Books3, BookCorpus2,
  OpenSubtitles, YTSubtitles, OWT2), as EleutherAI/pile itself is taken down; jsonl.zst shards.
* `slimpajama`: cerebras/SlimPajama-627B (jsonl.zst chunks).
* `pg19`: emozilla/pg19, a parquet copy of DeepMind's PG19 books (28,602 / 50 / 100): deepmind/pg19 is a
  loading script, which `datasets` 4 and later no longer run.
Either is read with `datasets.load_dataset(name, split=..., streaming=True)`; `data.path` reads a folder of
shards instead (parquet or jsonl[.zst], a file or folder whose name starts with train / val / test, as the
hub lays them out, so a downloaded snapshot of the repository works as it is), and so does a snapshot of the
repository in the hub cache under <data_root>/hf.

Training (`WindowStream`): the documents, shuffled by the run seed (the shards' order and a buffer of
documents, `datasets`' own shuffle; each pass over the split reshuffles), dealt out between DDP ranks and
dataloader workers (`split_dataset_by_node`: whole shards where they divide, else every n-th document), are
tokenised, joined by the end-of-text token and cut into windows of seq_len + 1 tokens (inputs and next-token
targets), which a second seeded buffer shuffles (a long document's windows would otherwise fill a batch).
Each worker yields whole batches, and the DataLoader takes them from its workers in turn, so which batch
comes from where is fixed: a resumed run (`Stream.restore`) skips, in each worker's stream, the batches it
had served, and lets the workers take their turns from where the interrupted loader stood.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

CORPORA = {"pile": "monology/pile-uncopyrighted", "slimpajama": "cerebras/SlimPajama-627B", "pg19": "emozilla/pg19"}
HUB_SPLITS = {"train": "train", "val": "validation", "test": "test"}
EXTENSIONS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".zst": "json", ".gz": "json"}
DOCUMENTS_PER_READ = 64


def shard_files(path: str | Path, split: str) -> list[str]:
    """The files of `split` under `path`: parquet or jsonl[.zst] whose name, or a folder's above it, starts with
    the split's name (`val` also matches `validation`)."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"data.path={path}: no such folder")
    found = [p for p in root.rglob("*") if p.is_file() and p.suffix in EXTENSIONS
             and any(part.startswith(split) for part in p.relative_to(root).parts)]
    return sorted(str(p) for p in found)


def local_snapshot(task: str, cache: str | Path) -> str | None:
    """The folder of a snapshot of the corpus's hub repository under <cache>/hf, found without downloading."""
    try:
        from huggingface_hub import snapshot_download
        return snapshot_download(CORPORA[task], repo_type="dataset", cache_dir=str(Path(cache) / "hf"),
                                 local_files_only=True)
    except Exception:  # not there (or no huggingface_hub): the corpus streams from the hub
        return None


def missing(task: str, path: str | None, cache: str | Path) -> str | None:
    """None where every split can be read on this machine, else one line naming what to download and where."""
    if path is not None:
        try:
            empty = [s for s in HUB_SPLITS if not shard_files(path, s)]
        except FileNotFoundError as exc:
            return str(exc)
        return f"data.path={path} has no {empty[0]}* parquet or jsonl shard" if empty else None
    if local_snapshot(task, cache):
        return None
    return (f"data.task={task} streams {CORPORA[task]} from the Hugging Face hub (no copy under {Path(cache) / 'hf'}): "
            f"train online, or download it (huggingface-cli download --repo-type dataset {CORPORA[task]} "
            f"--cache-dir {Path(cache) / 'hf'}) or give data.path=<folder of train/validation/test shards>")


class Corpus:
    """The splits of one corpus as streams of document texts."""

    def __init__(self, task: str, path: str | None, cache: str | Path):
        if task not in CORPORA:
            raise ValueError(f"data.task={task!r} is no streamed corpus; choose one of {', '.join(CORPORA)}")
        self.task, self.cache = task, str(cache)
        self.path = path if path is not None else local_snapshot(task, cache)
        self.key = task if self.path is None else f"{task}-{Path(self.path).resolve().name}"
        self._opened = {}

    def open(self, split: str):
        """A `datasets` IterableDataset of the split (nothing is read until it is iterated); opened once, as
        resolving the files costs seconds (shuffling and sharding make new objects from it)."""
        if split not in self._opened:
            self._opened[split] = self._open(split)
        return self._opened[split]

    def _open(self, split: str):
        try:
            import datasets
        except ImportError:
            raise ImportError(f"data.task={self.task} needs Hugging Face datasets: pip install 'mambazoo[text]'") \
                from None
        if self.path is not None:
            files = shard_files(self.path, split)
            if not files:
                raise FileNotFoundError(f"data.path={self.path} has no {split}* parquet or jsonl shard "
                                        f"(for the {HUB_SPLITS[split]} split of {self.task})")
            builders = {EXTENSIONS[Path(f).suffix] for f in files}
            if len(builders) > 1:
                raise ValueError(f"data.path={self.path}: the {split} shards mix parquet and json files")
            return datasets.load_dataset(builders.pop(), data_files={split: files}, split=split, streaming=True,
                                         cache_dir=str(Path(self.cache) / "hf"))
        name = CORPORA[self.task]
        try:
            return datasets.load_dataset(name, split=HUB_SPLITS[split], streaming=True,
                                         cache_dir=str(Path(self.cache) / "hf"))
        except Exception as exc:  # the hub's errors differ by version; offline they all mean "not reachable"
            raise ConnectionError(f"data.task={self.task}: Hugging Face datasets could not stream {name} "
                                  f"({type(exc).__name__}); the machine may be offline: download it "
                                  f"(huggingface-cli download --repo-type dataset {name} --cache-dir "
                                  f"{Path(self.cache) / 'hf'}) or give data.path=<folder of train/validation/test "
                                  f"shards>") from None

    def texts(self, stream) -> Iterator[list[str]]:
        """Lists of document texts, DOCUMENTS_PER_READ at a time (the tokenizer encodes a list at once)."""
        for batch in stream.iter(batch_size=DOCUMENTS_PER_READ):  # .iter: no splitting by dataloader worker
            if "text" not in batch:
                raise ValueError(f"data.task={self.task}: expected a text column, got {sorted(batch)}")
            yield batch["text"]


def first_tokens(corpus: Corpus, split: str, encoder, n: int) -> torch.Tensor:
    """The first `n` tokens of `split`, its documents in their order (fewer where the split holds fewer)."""
    parts, have = [], 0
    for texts in corpus.texts(corpus.open(split)):
        ids = encoder.encode(texts)
        parts.append(ids[: n - have])
        have += len(parts[-1])
        if have >= n:
            break
    return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)).to(torch.int32)


class WindowStream(IterableDataset):
    """Batches (inputs, targets) of training windows for rank `rank` of `world`, endless (each pass over the
    split reshuffles); `skip`: the batches this rank's loader had served before a resume."""

    def __init__(self, corpus: Corpus, encoder, seq_len: int, batch_size: int, seed: int, buffer: int,
                 rank: int = 0, world: int = 1, skip: int = 0):
        self.corpus, self.encoder, self.seq_len, self.batch_size = corpus, encoder, seq_len, batch_size
        self.seed, self.buffer, self.rank, self.world, self.skip = seed, buffer, rank, world, skip

    def __iter__(self):
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        # the resumed loader asks worker 0 first, where the interrupted one would have asked worker skip % workers
        stream = (worker + self.skip) % workers
        served = self.skip // workers + (stream < self.skip % workers)
        batches = self.batches(self.rank * workers + stream, self.world * workers)
        for _ in range(served):
            next(batches)
        yield from batches

    def batches(self, shard: int, shards: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        windows = self._shuffled(self.windows(shard, shards), random.Random(self.seed * 1_000_003 + shard))
        while True:
            block = torch.from_numpy(np.stack([next(windows) for _ in range(self.batch_size)]))
            yield block[:, :-1], block[:, 1:]

    def windows(self, shard: int, shards: int) -> Iterator[np.ndarray]:
        """Windows of seq_len + 1 tokens from shard `shard` of `shards` of the documents, pass after pass."""
        from datasets.distributed import split_dataset_by_node
        size = self.seq_len + 1
        epoch = 0
        while True:
            stream = self.corpus.open("train").shuffle(seed=self.seed, buffer_size=max(1, self.buffer))
            stream.set_epoch(epoch)
            stream = split_dataset_by_node(stream, rank=shard, world_size=shards)
            carry, made = np.zeros(0, dtype=np.int64), 0
            for texts in self.corpus.texts(stream):
                tokens = np.concatenate([carry, self.encoder.encode(texts)])
                whole = len(tokens) // size
                for i in range(whole):
                    yield tokens[i * size:(i + 1) * size]
                carry, made = tokens[whole * size:], made + whole
            if not made:
                raise ValueError(f"data.task={self.corpus.task}: the train split holds no window of {size} tokens "
                                 f"for each of {shards} loaders (ranks x workers); give more text or a smaller "
                                 f"data.seq_len")
            epoch += 1

    def _shuffled(self, items: Iterator, rng: random.Random) -> Iterator:
        if self.buffer <= 1:
            yield from items
            return
        pool = []
        for item in items:
            if len(pool) < self.buffer:
                pool.append(item)
                continue
            i = rng.randrange(self.buffer)
            yield pool[i]
            pool[i] = item


class Stream:
    """The training loader of a streamed corpus for this process: endless, resumable like tasks/resume.py's
    (`state_after(steps)` / `restore(state)`), each step one batch of this rank's windows."""

    def __init__(self, corpus: Corpus, encoder, seq_len: int, batch_size: int, seed: int, buffer: int, workers: int):
        self.settings = dict(corpus=corpus, encoder=encoder, seq_len=seq_len, batch_size=batch_size, seed=seed,
                             buffer=buffer)
        self.workers, self._skip = workers, 0

    def loader(self, skip: int = 0) -> DataLoader:
        ddp = dist.is_available() and dist.is_initialized()
        rank, world = (dist.get_rank(), dist.get_world_size()) if ddp else (0, 1)
        windows = WindowStream(**self.settings, rank=rank, world=world, skip=skip)
        return DataLoader(windows, batch_size=None, num_workers=self.workers)

    def __iter__(self):
        skip, self._skip = self._skip, 0
        yield from self.loader(skip)

    def state_after(self, steps: int) -> dict:
        return {"batches": int(steps)}

    def restore(self, state: dict):
        self._skip = int(state["batches"])
