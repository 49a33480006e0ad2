"""Every registered model, whatever its domain, on the example inputs its builder gives (zoo.registry.Example,
timm's pattern): a finite forward pass, a gradient for every parameter, and the same output from the same
seed. A new domain's variants are checked here without a test file of their own."""
import pytest
import torch

import zoo
from zoo.registry import example_of

MODELS = zoo.list_models()


def build(name, seed=0):
    example = example_of(name)
    torch.manual_seed(seed)
    return zoo.create_model(name, **example.io, **example.settings), example


def inputs(example, seed=0):
    return example.inputs(torch.Generator().manual_seed(seed))


def first(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def test_every_builder_gives_example_inputs():
    assert [m for m in MODELS if example_of(m) is None] == []


@pytest.mark.parametrize("name", MODELS)
def test_forward_is_finite_and_every_parameter_gets_a_gradient(name):
    model, example = build(name)
    out = first(model(*inputs(example)))
    assert torch.isfinite(out).all()
    out.float().pow(2).mean().backward()
    assert [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None
                                                                          or not torch.isfinite(p.grad).all())] == []


@pytest.mark.parametrize("name", MODELS)
def test_the_same_seed_builds_the_same_model(name):
    (a, example), (b, _), (c, _) = build(name), build(name), build(name, seed=1)
    a.eval(), b.eval(), c.eval()
    with torch.no_grad():
        x = inputs(example)
        assert torch.equal(first(a(*x)), first(b(*x)))
        assert not torch.equal(first(a(*x)), first(c(*x)))
