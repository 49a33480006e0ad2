"""Every registered language model gets the same checks (generated from list_models(domain="language"))."""
import pytest
import torch

import zoo

VOCAB, SMALL = 12, dict(d_model=32)


def small(name):
    torch.manual_seed(0)
    return zoo.create_model(name, vocab_size=VOCAB, **SMALL)


@pytest.fixture(params=zoo.list_models(domain="language"))
def name(request):
    return request.param


def test_forward_shape_and_finite(name):
    logits = small(name)(torch.randint(0, VOCAB, (2, 19)))
    assert logits.shape == (2, 19, VOCAB) and torch.isfinite(logits).all()


def test_every_parameter_gets_a_gradient(name):
    model = small(name)
    logits = model(torch.randint(0, VOCAB, (2, 19)))
    logits.logsumexp(-1).mean().backward()
    starved = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not starved


def test_recurrent_generation_equals_the_parallel_forward(name):
    """generate() feeds tokens one at a time through every block's step(); its greedy choices must be
    the argmax of the parallel forward over the same prefix."""
    model = small(name).double().eval()
    prompt = torch.randint(0, VOCAB, (2, 7))
    out = model.generate(prompt, max_new_tokens=6)
    with torch.no_grad():
        logits = model(out[:, :-1])
    assert torch.equal(out[:, 7:], logits[:, 6:].argmax(-1))


def test_state_size_matches_the_decoding_state(name):
    model = small(name).double()
    state = model.backbone.init_state(3, dtype=torch.float64)
    for t in range(9):
        _, state = model.backbone.step(torch.randn(3, SMALL["d_model"], dtype=torch.float64), state)
    floats = sum(t.numel() for t in _tensors(state)) // 3
    assert model.state_size(9) == floats


def _tensors(state):
    if torch.is_tensor(state):
        yield state
    else:
        for s in state:
            yield from _tensors(s)
