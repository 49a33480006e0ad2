"""The token-prediction kind: the synthetic token tasks, scored by accuracy on the scored positions."""
from __future__ import annotations

from ..kinds import Built, Kind, register_kind
from .data import SyntheticTokens
from .synthetic import TASKS
from .task import TokenTask

# the data settings a pipeline may leave out (their values are part of every token run's config hash)
DEFAULTS = dict(settings={}, n_train=2048, n_val=256, n_test=512, batch_size=32, eval_batch_size=None,
                eval_lengths=[], seed=0)


def build(cfg, data: dict, make_model) -> Built:
    tokens = SyntheticTokens(**data, shuffle_seed=cfg.seed)
    io = dict(vocab_size=tokens.vocab_size)
    task = TokenTask(make_model(**io), cfg, tokens.eval_names)
    return Built(data=tokens, task=task, name=data["task"], io=io, primary="test/acc",
                 directions={"acc": "max", "loss": "min"}, unit="tokens", count=lambda batch: batch[0].numel(),
                 input_length=tokens.input_length)


KIND = register_kind(Kind("token", tuple(TASKS), DEFAULTS, build))
