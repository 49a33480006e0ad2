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


def test_parallel_prefill_then_steps_equal_the_full_forward(name):
    model = small(name).double().eval()
    ids = torch.randint(0, VOCAB, (2, 13))
    with torch.no_grad():
        full = model(ids)
        h, state = model.backbone.prefill(model.embed(ids[:, :8]))
        logits = [model.head(h)]
        for t in range(8, 13):
            h_t, state = model.backbone.step(model.embed(ids[:, t]), state)
            logits.append(model.head(h_t)[:, None])
    torch.testing.assert_close(torch.cat(logits, dim=1), full, rtol=1e-9, atol=1e-9)


def test_sampling_is_seeded_and_top_k_1_is_greedy(name):
    model = small(name).eval()
    prompt = torch.randint(0, VOCAB, (3, 5))
    # a hot temperature: an untrained model's logits are peaked enough that two seeds may agree at 1
    draw = lambda seed, **k: model.generate(prompt, 8, temperature=50.0,  # noqa: E731
                                             generator=torch.Generator().manual_seed(seed), **k)
    assert torch.equal(draw(1), draw(1)) and not torch.equal(draw(1), draw(2))
    greedy = model.generate(prompt, 8)
    assert torch.equal(draw(3, top_k=1), greedy) and torch.equal(draw(4, top_p=1e-6), greedy)


def test_a_tiny_temperature_is_the_argmax():
    from zoo.language.sampling import next_token
    logits = torch.tensor([[0.0, 2.0, 1.0], [5.0, -1.0, 4.0]])
    assert next_token(logits, temperature=1e-39).tolist() == [1, 0]
