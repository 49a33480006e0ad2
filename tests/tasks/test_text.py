"""Byte-level text: contiguous splits that do not overlap, windows whose targets are the next bytes, bits per
byte of a uniform prediction equal to 8, and the bad files that end in one line."""
import bz2
import math

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from tasks.language.corpus import read_bytes, shipped_excerpt, split_bytes, windows
from tasks.language.task import TokenTask
from tasks.language.text import ByteText


def test_splits_are_contiguous_by_offset_and_do_not_overlap():
    raw = bytes(range(256)) * 4  # 1024 bytes: 921 / 51 / 52
    splits = split_bytes(raw)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [921, 51, 52]
    assert bytes(torch.cat([splits["train"], splits["val"], splits["test"]]).tolist()) == raw


def test_windows_predict_the_next_byte_and_do_not_overlap():
    x, y = windows(torch.arange(23, dtype=torch.uint8), 5)
    assert x.shape == (4, 5) and x.flatten().tolist() == list(range(20)) and y.flatten().tolist() == list(range(1, 21))
    assert windows(torch.arange(23, dtype=torch.uint8), 5, limit=11)[0].shape == (2, 5)
    with pytest.raises(ValueError, match="hold no window of 8 bytes"):
        windows(torch.arange(8, dtype=torch.uint8), 8)


def test_the_shipped_excerpt_is_wikipedia_xml():
    raw = read_bytes(shipped_excerpt())
    assert raw.startswith(b"<mediawiki") and len(raw) > 5_000_000


def test_a_file_by_path_plain_or_bz2(tmp_path):
    text = b"<page>" + b"hello world " * 400 + b"</page>"
    (tmp_path / "plain.txt").write_bytes(text)
    (tmp_path / "packed.xml.bz2").write_bytes(bz2.compress(text))
    for name in ("plain.txt", "packed.xml.bz2"):
        data = ByteText("wiki_excerpt", str(tmp_path / name), seq_len=16, batch_size=4, eval_batch_size=None,
                        eval_lengths=[64], eval_bytes=None)
        assert sum(len(v) for v in data.splits.values()) == len(text)
        assert data.describe()["corpus"] == name.split(".")[0]


@pytest.mark.parametrize("write, error", [
    (None, r"data.path=.*missing.txt: no such file"),
    (b"", r"data.path=.*empty.txt is empty"),
    (b"not bz2 at all", r"data.path=.*bad.bz2: not a bz2 file"),
    (b"x" * 100, r"short val split: 5 bytes hold no window of 16 bytes .*smaller data.seq_len"),
], ids=["missing", "empty", "not-bz2", "too-short"])
def test_bad_files_end_in_one_line(tmp_path, write, error):
    name = {None: "missing.txt", b"": "empty.txt", b"not bz2 at all": "bad.bz2"}.get(write, "short.txt")
    if write is not None:
        (tmp_path / name).write_bytes(write)
    with pytest.raises((ValueError, FileNotFoundError), match=error) as err:
        ByteText("wiki_excerpt", str(tmp_path / name), seq_len=16, batch_size=4, eval_batch_size=None,
                 eval_lengths=[], eval_bytes=None)
    assert "\n" not in str(err.value)


def test_an_unknown_corpus_names_the_choices():
    with pytest.raises(ValueError, match="data.source='enwik9' is no corpus; choose one of wiki_excerpt"):
        ByteText("enwik9", None, seq_len=16, batch_size=4, eval_batch_size=None, eval_lengths=[], eval_bytes=None)


class Uniform(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, ids):
        return torch.zeros(*ids.shape, 256) + self.bias


def test_bits_per_byte_of_a_uniform_prediction_is_8():
    cfg = OmegaConf.create(dict(optim=dict(lr=1e-3, weight_decay=0.0, betas=[0.9, 0.95], grad_clip=None),
                                schedule=dict(warmup_steps=1, min_lr_ratio=0.1), trainer=dict(max_steps=1)))
    task = TokenTask(Uniform(), cfg, {"val": ["val/bpb"], "test": []}, metric="bpb")
    task.log = lambda *a, **k: None
    for batch in (torch.randint(0, 256, (3, 2, 7)), torch.randint(0, 256, (2, 2, 5))):
        task.validation_step((batch[:, 0], batch[:, 1]), 0)
    assert math.isclose(task.metrics["val__bpb"].compute().item(), 8.0, rel_tol=1e-6)


def _parquet(folder, splits):
    datasets = pytest.importorskip("datasets")
    folder.mkdir(exist_ok=True)
    for split, lines in splits.items():
        datasets.Dataset.from_dict({"text": lines}).to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))


def test_hub_corpora_load_from_parquet_in_the_hubs_format(tmp_path):
    # enwik8 is one text, split by offset; WikiText-103 keeps its own splits, lines joined as they were
    _parquet(tmp_path / "enwik8", {"train": ["<page>" + "x" * 994]})
    enwik8 = ByteText("enwik8", str(tmp_path / "enwik8"), seq_len=8, batch_size=4, eval_batch_size=None,
                      eval_lengths=[], eval_bytes=None, cache=str(tmp_path / "cache"))
    assert {k: len(v) for k, v in enwik8.splits.items()} == {"train": 900, "val": 50, "test": 50}
    lines = {s: [f" = {s} = \n", "words " * 20 + "\n"] for s in ("train", "validation", "test")}
    _parquet(tmp_path / "wikitext", lines)
    wiki = ByteText("wikitext103", str(tmp_path / "wikitext"), seq_len=8, batch_size=4, eval_batch_size=None,
                    eval_lengths=[], eval_bytes=None, cache=str(tmp_path / "cache"))
    assert bytes(wiki.splits["val"].tolist()) == "".join(lines["validation"]).encode()
    assert wiki.describe()["corpus"] == "wikitext103"
    with pytest.raises(FileNotFoundError, match=r"has no validation\*.parquet file for wikitext103"):
        ByteText("wikitext103", str(tmp_path / "enwik8"), seq_len=8, batch_size=4, eval_batch_size=None,
                 eval_lengths=[], eval_bytes=None, cache=str(tmp_path / "cache"))


def test_a_hub_corpus_offline_is_one_line(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # read at import, so set where it is kept
    with pytest.raises(ConnectionError, match=r"data.source=wikitext103: .* could not load Salesforce/wikitext") as err:
        ByteText("wikitext103", None, seq_len=8, batch_size=4, eval_batch_size=None, eval_lengths=[],
                 eval_bytes=None, cache=str(tmp_path))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("setting, value", [("eval_lengths", [0]), ("eval_bytes", 0), ("seq_len", 0)])
def test_sizes_that_are_not_positive_are_one_line(tmp_path, setting, value):
    (tmp_path / "t.txt").write_bytes(b"x" * 4000)
    sizes = {**dict(seq_len=16, eval_lengths=[], eval_bytes=None), setting: value}
    with pytest.raises(ValueError, match=rf"data.{setting}: 0 is not a positive integer"):
        ByteText("wiki_excerpt", str(tmp_path / "t.txt"), batch_size=4, eval_batch_size=None, **sizes)
