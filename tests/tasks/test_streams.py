"""Streamed corpora (kind `stream`): packed windows joined by the end-of-text token, bytes, shares of ranks
that do not overlap, a seeded order that a resume continues, cached evaluation tokens, a tiny run, the plans
of the language kinds, and the one-line error offline."""
import datasets
import numpy as np
import pytest
import torch

from tasks.language import stream as stream_mod
from tasks.language.stream import Corpus, Stream, WindowStream
from tasks.language.streamed import StreamText
from tasks.language.tokenizer import BYTES, load

WORDS = "the cat sat on a mat and dog ran to red big hat".split()


def _documents(n, seed):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(5, 30))) for _ in range(n)]


@pytest.fixture(autouse=True)
def no_shutdown_sleep(monkeypatch):
    # datasets sleeps 5 s whenever a shuffled parquet stream is closed early (apache/arrow#45214), which these
    # tests do at every step; a run closes one once per pass over the split
    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("pile")
    for i in range(2):
        datasets.Dataset.from_dict({"text": _documents(40, i)}).to_parquet(str(root / f"train-0000{i}-of-00002.parquet"))
    datasets.Dataset.from_dict({"text": _documents(30, 7)}).to_parquet(str(root / "validation-00000.parquet"))
    datasets.Dataset.from_dict({"text": _documents(30, 8)}).to_parquet(str(root / "test-00000.parquet"))
    return root


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(WORDS)], trainers.WordLevelTrainer(special_tokens=["[UNK]", "<|endoftext|>"]))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


def _texts(file):
    import pyarrow.parquet as pq
    return pq.read_table(str(file)).column("text").to_pylist()


def _stream(shards, encoder, tmp_path, seed=0, rank=0, world=1, skip=0, buffer=8, batch_size=2, seq_len=7):
    return WindowStream(Corpus("pile", str(shards), tmp_path), encoder, seq_len, batch_size, seed, buffer,
                        rank=rank, world=world, skip=skip)


def _take(batches, n):
    return [torch.cat([x, y[:, -1:]], 1) for (x, y), _ in zip(batches, range(n))]


def test_windows_are_packed_documents_joined_by_end_of_text(shards, tokenizer_json, tmp_path):
    encoder = load(tokenizer_json, tmp_path)
    eot = encoder.tokenizer.token_to_id("<|endoftext|>")
    windows = list(zip(_stream(shards, encoder, tmp_path, buffer=0).windows(0, 1), range(200)))
    stream = np.concatenate([w for w, _ in windows])
    assert {len(w) for w, _ in windows} == {8}
    # cut at the end-of-text tokens, the stream is whole documents of the corpus, one after another
    encoded = [tuple(encoder.tokenizer.encode(t).ids) for f in shards.glob("train*") for t in _texts(f)]
    documents = set(encoded)
    first_pass = (sum(len(d) + 1 for d in encoded) // 8) * 8  # (the next pass starts at a document again)
    ends = np.flatnonzero(stream[:first_pass] == eot)
    pieces = [tuple(stream[a + 1:b].tolist()) for a, b in zip(ends[:-1], ends[1:])]
    assert len(pieces) > 20 and all(p in documents for p in pieces)
    assert tuple(stream[:ends[0]].tolist()) in documents  # the first window starts a document
    x, y = next(iter(_stream(shards, encoder, tmp_path, buffer=0)))
    assert x.shape == (2, 7) and torch.equal(x[:, 1:], y[:, :-1])


def test_bytes_mode_gives_the_utf8_bytes(shards, tmp_path):
    encoder = load(BYTES, tmp_path)
    assert encoder.vocab_size == 256 and encoder.encode(["hé", "!"]).tolist() == [104, 195, 169, 33]
    x, _ = next(iter(_stream(shards, encoder, tmp_path, buffer=0, seq_len=15)))
    firsts = [_texts(f)[0].encode()[:15] for f in shards.glob("train*")]
    assert bytes(x[0].tolist()) in firsts


def test_two_ranks_see_disjoint_windows_and_two_workers_too(shards, tokenizer_json, tmp_path):
    encoder = load(BYTES, tmp_path)
    ranks = [{bytes(w.tolist()) for w in _take(_stream(shards, encoder, tmp_path, rank=r, world=2), 20)[0]}
             for r in range(2)]
    shares = [{bytes(w.tolist()) for b in _take(_stream(shards, encoder, tmp_path, rank=r, world=2, seq_len=31), 10)
               for w in b} for r in range(2)]
    assert ranks[0] and not (ranks[0] & ranks[1]) and not (shares[0] & shares[1])
    # two dataloader workers of one rank: each a share of its own, in turns
    loader = Stream(Corpus("pile", str(shards), tmp_path), encoder, 31, 2, 0, 8, workers=2)
    batches = [b for b, _ in zip(loader, range(6))]
    by_worker = [{bytes(w.tolist()) for b in batches[i::2] for w in b[0]} for i in range(2)]
    assert not (by_worker[0] & by_worker[1])


def test_order_follows_the_seed_and_a_resume_continues_where_it_stopped(shards, tokenizer_json, tmp_path):
    encoder = load(tokenizer_json, tmp_path)
    whole = _take(_stream(shards, encoder, tmp_path, seed=0), 12)
    other = _take(_stream(shards, encoder, tmp_path, seed=1), 12)
    assert not all(torch.equal(a, b) for a, b in zip(whole, other))
    assert all(torch.equal(a, b) for a, b in zip(whole, _take(_stream(shards, encoder, tmp_path, seed=0), 12)))
    assert all(torch.equal(a, b) for a, b in zip(whole[5:], _take(_stream(shards, encoder, tmp_path, skip=5), 7)))
    # through the loader, with two workers taking turns: stop after 3 batches, restore, continue
    corpus = Corpus("pile", str(shards), tmp_path)
    first = Stream(corpus, encoder, 7, 2, 0, 8, workers=2)
    uninterrupted = [x for (x, _), _ in zip(first, range(8))]
    resumed = Stream(corpus, encoder, 7, 2, 0, 8, workers=2)
    resumed.restore(first.state_after(3))
    assert all(torch.equal(a, b) for a, ((b, _), _) in zip(uninterrupted[3:], zip(resumed, range(5))))


def test_evaluation_tokens_are_the_same_across_runs_and_cached(shards, tokenizer_json, tmp_path):
    copy = tmp_path / "shards"
    copy.mkdir()
    for f in shards.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    settings = dict(task="pile", path=str(copy), tokenizer=tokenizer_json, seq_len=16, batch_size=2,
                    eval_batch_size=None, val_tokens=200, test_tokens=300, workers=0, shuffle_buffer=4)
    first = StreamText(**settings, shuffle_seed=0, cache=str(tmp_path / "data"))
    assert len(first.tokens["val"]) == 200 and len(first.tokens["test"]) == 300
    for f in [*copy.glob("validation*"), *copy.glob("test*")]:
        f.unlink()  # a second run, of another seed, reads them from the cache
    again = StreamText(**settings, shuffle_seed=1, cache=str(tmp_path / "data"))
    assert all(torch.equal(first.tokens[s], again.tokens[s]) for s in ("val", "test"))
    assert len(list((tmp_path / "data" / "streams").rglob("*.pt"))) == 2
    assert first.data["val"].tensors[0].shape == (12, 16)  # (200 - 1) // 16 windows


@pytest.mark.parametrize("tokenizer, metric", [("tok", "ppl"), (BYTES, "bpb")])
def test_a_tiny_run_end_to_end_and_its_plan(shards, tokenizer_json, tmp_path, tokenizer, metric):
    from runners.run.config import compose
    from runners.run.train import prepare, run
    from tasks.kinds import kind_for, resolve_data
    from omegaconf import OmegaConf
    tok = tokenizer_json if tokenizer == "tok" else BYTES
    cfg = compose("train", ["pipeline=pile", "model.name=mamba", "model.d_model=16", "model.pattern=MM",
                            f"data.path={shards}", f"data.tokenizer={tok}", "data.seq_len=16", "data.batch_size=2",
                            "data.val_tokens=100", "data.test_tokens=100", "data.workers=0",
                            "trainer.accelerator=cpu", "trainer.devices=1", "trainer.strategy=auto",
                            "trainer.precision=32-true", "trainer.max_steps=2", "trainer.val_every_steps=2",
                            "schedule.warmup_steps=1", "trainer.progress_bar=false", "logger=none",
                            f"results_dir={tmp_path / 'results'}", f"data_root={tmp_path / 'data'}"])
    data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
    planned = kind_for("pile").plan(data, str(tmp_path / "data"))
    built = prepare(cfg)
    assert planned.io == built.io and planned.missing is None and built.primary == f"test/{metric}"
    assert planned.unit == built.unit and planned.per_example == 16 and planned.example(3)[0].shape == (3, 16)
    record = run(cfg, [])
    assert record["status"] == "ok", record.get("error")
    value = record["metrics"][f"test/{metric}"]
    assert np.isfinite(value) and value > (1 if metric == "ppl" else 0)
    # the verdicts resample the outcomes: they must give back the metric in its own unit (a perplexity, not nats)
    from tasks import outcomes
    saved = next((tmp_path / "results" / "records").rglob("*.jsonl"))
    kept = outcomes.load(saved.with_name(record["outcomes"]))[f"test/{metric}"]
    assert outcomes.value(kept["num"], kept["den"], kept["kind"]) == pytest.approx(value, rel=1e-4)


def test_a_tokenizer_not_fetched_yet_is_planned_at_the_default_vocabulary_and_named(tmp_path):
    from tasks.kinds import kind_for, resolve_data
    from tasks.language.tokenizer import DEFAULT, padded
    planned = kind_for("pile").plan(resolve_data({"task": "pile", "tokenizer": "someone/unknown"}), str(tmp_path))
    assert planned.io == {"vocab_size": padded(50277)}
    assert "someone/unknown" in planned.missing and DEFAULT in planned.missing


def test_the_plans_of_the_token_and_bytes_kinds_match_what_build_makes(tmp_path):
    from runners.run.config import compose
    from runners.run.train import prepare
    from tasks.kinds import kind_for, resolve_data
    from omegaconf import OmegaConf
    for pipeline in ("mqar", "induction_heads", "selective_copying"):
        cfg = compose("train", [f"pipeline={pipeline}", "model.name=mamba", "model.d_model=16", "data.n_train=8",
                                "data.n_val=8", "data.n_test=8"])
        data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
        planned, built = kind_for(data["task"]).plan(data, "data"), prepare(cfg)
        assert (planned.io, planned.per_example, planned.missing) == (built.io, built.input_length, None)
        assert planned.example(2)[0].shape == (2, built.input_length)
    text = tmp_path / "book.txt"
    text.write_bytes(b"some text " * 300)
    cfg = compose("train", ["pipeline=wiki_bytes", "model.name=mamba", "model.d_model=16", f"data.path={text}",
                            "data.seq_len=16", "data.eval_lengths=[]"])
    data = resolve_data(OmegaConf.to_container(cfg.data, resolve=True))
    planned = kind_for("bytes").plan(data, str(tmp_path))
    assert planned.io == prepare(cfg).io and planned.missing is None and planned.unit == "bytes"
    gone = kind_for("bytes").plan({**data, "source": "enwik8", "path": None}, str(tmp_path))
    assert "LTCB/enwik8" in gone.missing and "\n" not in gone.missing
    assert kind_for("bytes").plan({**data, "path": str(tmp_path / "nope.txt")}, "data").missing.endswith("no such file")


def test_offline_the_error_is_one_line_naming_the_hub_name(tokenizer_json, tmp_path, monkeypatch):
    from tasks.kinds import kind_for, resolve_data

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'monology/pile-uncopyrighted' on the Hub (LocalEntryNotFoundError)\nmore")
    monkeypatch.setattr(datasets, "load_dataset", offline)
    data = resolve_data({"task": "pile", "tokenizer": tokenizer_json})
    with pytest.raises(ConnectionError) as err:
        StreamText(**data, cache=str(tmp_path))
    assert "monology/pile-uncopyrighted" in str(err.value) and "\n" not in str(err.value)
    planned = kind_for("pile").plan(data, str(tmp_path))
    assert "monology/pile-uncopyrighted" in planned.missing and "\n" not in planned.missing
    # the default tokenizer, not fetched: its vocabulary is known, and the plan says to fetch it
    planned = kind_for("pile").plan(resolve_data({"task": "pile"}), str(tmp_path))
    assert planned.io == {"vocab_size": 50280} and "EleutherAI/gpt-neox-20b" in planned.missing
    with pytest.raises(FileNotFoundError, match=r"data.tokenizer=.*nope.json: no such tokenizer.json"):
        StreamText(**{**data, "tokenizer": str(tmp_path / "nope.json")}, cache=str(tmp_path))
