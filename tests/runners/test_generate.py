"""python -m runners.generate samples from a recorded byte-level run with the weights it kept, and says in one
line what is missing when it cannot."""
import pytest

from runners.run import generate
from runners.run import train
from runners.run.config import UsageError, compose

from .tiny import TINY_BYTES

RUN = ["pipeline=wiki_bytes", "model.name=mamba", "model.d_model=16", *TINY_BYTES]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    train.run(compose("train", [*RUN, f"results_dir={root}"]), RUN)
    return root


def test_a_recorded_run_continues_a_prompt_greedily_and_by_seed(results, capsys):
    def sample(*extra):
        assert generate.main(["wiki_bytes/mamba/s0", "--prompt", "<page>\\n", "--max-new", "40",
                              "--results", str(results), *extra]) == 0
        return capsys.readouterr().out

    greedy = sample()
    assert greedy.startswith("<page>\n") and len(greedy.encode("utf-8", errors="surrogateescape")) >= 40
    assert sample() == greedy and sample("--temperature", "1", "--top-k", "1") == greedy
    assert sample("--temperature", "5", "--seed", "1") == sample("--temperature", "5", "--seed", "1")


def test_what_is_missing_is_one_line(results, tmp_path):
    (results / "weights").rename(tmp_path / "weights")
    try:
        with pytest.raises(UsageError, match="has no saved weights here .*train it again: python -m runners.train"):
            generate.main(["wiki_bytes/mamba/s0", "--prompt", "a", "--results", str(results)])
    finally:
        (tmp_path / "weights").rename(results / "weights")
    with pytest.raises(UsageError, match="no finished run 'wiki_bytes/s4d/s0'"):
        generate.main(["wiki_bytes/s4d/s0", "--prompt", "a", "--results", str(results)])
    with pytest.raises(UsageError, match="--prompt is empty"):
        generate.main(["wiki_bytes/mamba/s0", "--prompt", "", "--results", str(results)])
    with pytest.raises(UsageError, match="top_p=1.5"):
        generate.main(["wiki_bytes/mamba/s0", "--prompt", "a", "--top-p", "1.5", "--results", str(results)])


def test_a_committed_record_without_weights_is_passed_over(results, capsys):
    import json
    [path] = (results / "records").glob("*/*.jsonl")
    rec = json.loads(path.read_text())
    other = results / "records" / "language_modeling"
    other.mkdir(exist_ok=True)
    (other / path.name).write_text(json.dumps({**rec, "suite": "language_modeling"}) + "\n")
    try:
        assert generate.main(["wiki_bytes/mamba/s0", "--prompt", "a", "--max-new", "3", "--results", str(results)]) == 0
        assert capsys.readouterr().out.startswith("a")
    finally:
        (other / path.name).unlink()
