"""Every variant at its paper's size, counted on the meta device against the count its paper publishes."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import zoo
from zoo.__main__ import main
from zoo.sizes import TOLERANCE, count_on_meta, size_rows, to_csv, within

PAIRS = [(name, size) for name in zoo.list_models() for size in zoo.model_info(name).sizes]
PUBLISHED = Path(__file__).resolve().parents[2] / "results" / "published" / "params.csv"


def test_every_variant_and_baseline_has_a_paper_size():
    assert [n for n in zoo.list_models() if not zoo.model_info(n).sizes] == []


@pytest.mark.parametrize("name,size", PAIRS, ids=[f"{n}-{s}" for n, s in PAIRS])
def test_our_count_is_within_3_percent_of_the_published_one(name, size):
    published = zoo.size_spec(name, size)["published"]
    assert published.get("source"), f"{name}/{size} names no source for its count (or for having none)"
    if published.get("params") is None:
        pytest.skip(f"{name}/{size}: {published['source']}")
    ours = count_on_meta(name, size)
    assert within(ours, published["params"]), f"{name}/{size}: ours {ours:,} against {published['params']:,}"


def test_within_is_a_relative_band():
    assert within(103, 100) and within(97, 100) and not within(104, 100) and within(5, None) is None
    assert TOLERANCE == 0.03


def test_a_size_builds_what_its_config_says():
    """vim_s at 224 px: 196 patches of width 384, 24 blocks; 'paper' is the first size (vim_ti)."""
    spec = zoo.size_spec("vim", "vim_s")
    model = zoo.create_model("vim", size="vim_s", **spec["io"])
    assert model.pos_embed.shape == (1, 196, 384) and len(model.stages[0]) == 24
    assert zoo.size_spec("vim", "paper")["name"] == "vim_ti"
    assert count_on_meta("vim", "vim_s") == zoo.count_parameters(model)


def test_the_command_prints_one_csv_line_per_size(capsys):
    assert main(["params", "--size", "paper"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["name"], r["size"]) for r in rows] == PAIRS
    assert list(rows[0]) == ["name", "size", "params", "published_params", "source"]
    assert main(["params", "--size", "vim_s"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("vim,vim_s,")


def test_a_size_no_model_has_is_one_line(capsys):
    assert main(["params", "--size", "vim_xl"]) == 2
    assert "no model has a size 'vim_xl'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="has no size 'huge'.*paper, vim_ti, vim_s"):
        zoo.create_model("vim", size="huge", image_size=32, in_channels=1, n_classes=10)


def test_the_published_file_is_what_the_command_prints():
    """results/published/params.csv (the front page reads it) is regenerated, never edited by hand:
    python -m zoo params --size paper > results/published/params.csv"""
    assert PUBLISHED.read_text() == to_csv(size_rows("paper"))
