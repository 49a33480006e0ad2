"""The token-prediction kinds: the synthetic token tasks (kind `token`, scored by accuracy on the scored
positions), byte-level language modelling on real text (kind `bytes`, scored in bits per byte) and language
modelling on streamed corpora (kind `stream`: the Pile, SlimPajama, PG19; perplexity in subword tokens, bits
per byte in bytes). All train the one TokenTask."""
from __future__ import annotations

from ..kinds import Built, Kind, register_kind
from .corpus import corpus_name
from .data import SyntheticTokens
from .plan import plan_bytes, plan_stream, plan_token
from .stream import CORPORA
from .streamed import StreamText
from .synthetic import TASKS
from .task import TokenTask
from .text import ByteText

# the data settings a pipeline may leave out (their values are part of every token run's config hash)
DEFAULTS = dict(settings={}, n_train=2048, n_val=256, n_test=512, batch_size=32, eval_batch_size=None,
                eval_lengths=[], seed=0)
BYTE_DEFAULTS = dict(source="wiki_excerpt", path=None, seq_len=256, batch_size=16, eval_batch_size=None,
                     eval_lengths=[], eval_bytes=None)
# a kind of its own, so these keys enter no token or bytes run's config hash; 2048 tokens is the Mamba paper's
# context; the evaluation budgets are ours (the whole Pile test split would be ~0.4B tokens per evaluation)
STREAM_DEFAULTS = dict(path=None, tokenizer="EleutherAI/gpt-neox-20b", seq_len=2048, batch_size=8,
                       eval_batch_size=None, val_tokens=1 << 20, test_tokens=1 << 22, workers=2, shuffle_buffer=1000)


def build(cfg, data: dict, make_model) -> Built:
    tokens = SyntheticTokens(**data, shuffle_seed=cfg.seed)
    io = dict(vocab_size=tokens.vocab_size)
    task = TokenTask(make_model(**io), cfg, tokens.eval_names)
    return Built(data=tokens, task=task, name=data["task"], io=io, primary="test/acc",
                 directions={"acc": "max", "loss": "min"}, unit="tokens", count=lambda batch: batch[0].numel(),
                 input_length=tokens.input_length, versus="state_size" if data["task"] == "mqar" else None)


def build_bytes(cfg, data: dict, make_model) -> Built:
    text = ByteText(**{k: v for k, v in data.items() if k != "task"}, shuffle_seed=cfg.seed, cache=cfg.data_root)
    io = dict(vocab_size=text.vocab_size)
    task = TokenTask(make_model(**io), cfg, text.eval_names, metric="bpb")
    return Built(data=text, task=task, name=text.name, io=io, primary="test/bpb",
                 directions={"bpb": "min", "loss": "min"}, unit="bytes", count=lambda batch: batch[0].numel(),
                 input_length=text.input_length)


def build_stream(cfg, data: dict, make_model) -> Built:
    text = StreamText(**data, shuffle_seed=cfg.seed, cache=cfg.data_root)
    io = dict(vocab_size=text.vocab_size)
    task = TokenTask(make_model(**io), cfg, text.eval_names, metric=text.metric)
    unit = "bytes" if text.metric == "bpb" else "tokens"
    return Built(data=text, task=task, name=text.name, io=io, primary=f"test/{text.metric}",
                 directions={text.metric: "min", "loss": "min"}, unit=unit, count=lambda batch: batch[0].numel(),
                 input_length=text.input_length)


KIND = register_kind(Kind("token", tuple(TASKS), DEFAULTS, build, plan=plan_token))
BYTES = register_kind(Kind("bytes", ("bytes",), BYTE_DEFAULTS, build_bytes,
                               lambda data: corpus_name(data.get("source", "wiki_excerpt"), data.get("path")),
                           plan=plan_bytes))
STREAM = register_kind(Kind("stream", tuple(CORPORA), STREAM_DEFAULTS, build_stream, libraries=("datasets", "tokenizers"),
                            plan=plan_stream))
