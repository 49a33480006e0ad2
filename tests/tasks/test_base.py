"""The shared task: which parameters decay, the learning-rate curve, the data module's guarantees."""
import math

import pytest
import torch

import zoo
from tasks.base import parameter_groups, warmup_cosine
from tasks.language.data import SyntheticTokens


def test_no_weight_decay_on_ssm_parameters_norms_and_biases_and_tied_weights_once():
    model = zoo.create_model("jamba_style", vocab_size=10, d_model=16)
    decay, no_decay = parameter_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert not any(key in n for n in decayed for key in ("A_log", ".D", "dt_proj.bias", "norm"))
    assert any("in_proj" in n for n in decayed) and "embed.weight" not in decayed  # the authors exempt embeddings
    everything = decay["params"] + no_decay["params"]
    assert len(everything) == len({id(p) for p in model.parameters()})  # the tied head is not counted twice


def test_warmup_then_cosine_to_the_floor():
    lr = [warmup_cosine(s, warmup_steps=10, total_steps=110, min_lr_ratio=0.1) for s in range(111)]
    assert lr[0] == pytest.approx(0.1) and lr[9] == pytest.approx(1.0)
    assert lr[10] == pytest.approx(1.0) and lr[60] == pytest.approx(0.55) and lr[110] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:]))
    assert math.isclose(warmup_cosine(500, 10, 110, 0.1), 0.1)


def data(**kw):
    args = dict(task="induction_heads", settings={"seq_len": 16, "vocab_size": 8}, n_train=32, n_val=8, n_test=8,
                batch_size=4, eval_lengths=[16, 64], seed=0)
    return SyntheticTokens(**{**args, **kw})


def test_data_depend_on_the_data_seed_only_and_splits_differ():
    a, b, c = data(shuffle_seed=1), data(shuffle_seed=2), data(seed=5)
    for d in (a, b, c):
        d.setup()
    assert torch.equal(a.data["train"][0].tensors[0], b.data["train"][0].tensors[0])
    assert not torch.equal(a.data["train"][0].tensors[0], c.data["train"][0].tensors[0])
    assert not torch.equal(a.data["val"][0].tensors[0], a.data["test"][0].tensors[0])


def test_longer_test_sets_and_their_metric_names():
    d = data()
    d.setup()
    assert d.eval_names["test"] == ["test/acc", "test/acc@16", "test/acc@64"]
    assert [ds.tensors[0].shape[1] for ds in d.data["test"]] == [d.input_length, d.input_length, 65]


def test_unknown_data_setting_is_named():
    with pytest.raises(ValueError, match=r"data.settings has \['pairs'\].*induction_heads"):
        data(settings={"seq_len": 16, "vocab_size": 8, "pairs": 2})
