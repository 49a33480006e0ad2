"""A padded batch read with its mask gives every sequence the outputs it has alone, unpadded: for each mixer,
causal or not, read forwards or both ways, and for the sequence classifier whatever its pooling."""
import pytest
import torch

from zoo import create_model
from zoo.backbone import Backbone
from zoo.long_range.classifier import PAD

MIXERS = {
    "M": {"mamba1": {"d_state": 4}},
    "2": {"mamba2": {"d_state": 8, "headdim": 8, "chunk_size": 4}},
    "S": {"s4d": {"d_state": 4}},
    "A": {"attention": {"n_heads": 2}},
    "a": {"attention": {"n_heads": 2, "causal": False}},
}
LENGTHS = (11, 5, 1)


def padded(d_model=16, generator=None):
    """Three sequences of LENGTHS, right-padded with junk (not zeros, so nothing passes by luck), and the mask."""
    longest = max(LENGTHS)
    x = torch.randn(len(LENGTHS), longest, d_model, generator=generator)
    mask = torch.arange(longest)[None] < torch.tensor(LENGTHS)[:, None]
    return x, mask


@pytest.mark.parametrize("directions", ["forward", "bidirectional"])
@pytest.mark.parametrize("code", list(MIXERS))
def test_each_sequence_reads_as_if_alone(code, directions):
    torch.manual_seed(0)
    pattern = code.upper() * 2
    backbone = Backbone(16, pattern=pattern, mixers=MIXERS[code], mlp="swiglu", directions=directions)
    x, mask = padded()
    together = backbone(x, mask=mask)
    for i, n in enumerate(LENGTHS):
        alone = backbone(x[i:i + 1, :n])
        torch.testing.assert_close(together[i, :n], alone[0], rtol=1e-5, atol=1e-5)


def test_without_the_mask_padding_leaks():
    """The check above can fail: read backwards without the mask, the padding changes the real tokens."""
    torch.manual_seed(0)
    backbone = Backbone(16, pattern="MM", mixers=MIXERS["M"], directions="bidirectional")
    x, _ = padded()
    n = LENGTHS[1]
    assert not torch.allclose(backbone(x)[1, :n], backbone(x[1:2, :n])[0], atol=1e-3)


def test_a_decoding_state_refuses_a_mask():
    backbone = Backbone(16, pattern="M", mixers=MIXERS["M"])
    x, mask = padded()
    with pytest.raises(ValueError, match="unpadded"):
        backbone.blocks[0](x, with_state=True, mask=mask)


def test_a_pooling_merge_refuses_a_mask():
    backbone = Backbone(16, pattern="M", mixers=MIXERS["M"], directions="bidirectional", merge="gate")
    x, mask = padded()
    with pytest.raises(ValueError, match="pools over every token"):
        backbone(x, mask=mask)


@pytest.mark.parametrize("pool", ["mean", "last"])
@pytest.mark.parametrize("pattern,mixers", [("MM", MIXERS["M"]), ("AA", MIXERS["a"])])
def test_classifier_logits_do_not_depend_on_padding(pool, pattern, mixers):
    torch.manual_seed(0)
    model = create_model("s4d_lra", vocab_size=12, n_classes=3, d_model=16, pattern=pattern, mixers=mixers,
                         mlp=None, pool=pool)
    ids = torch.randint(1, 12, (len(LENGTHS), max(LENGTHS)))
    ids[torch.arange(max(LENGTHS))[None] >= torch.tensor(LENGTHS)[:, None]] = PAD
    batch = model(ids)
    for i, n in enumerate(LENGTHS):
        torch.testing.assert_close(batch[i], model(ids[i:i + 1, :n])[0], rtol=1e-5, atol=1e-5)
