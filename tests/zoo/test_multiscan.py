"""The multi-walk Mamba block against plain 1-D Mamba blocks: one walk is exactly a Mamba block on the
walked sequence; four walks summed are four Mamba blocks summed; shared parameters are one set of tensors."""
import pytest
import torch

from zoo.layers import Mamba1Mixer
from zoo.layers.directional import Directional
from zoo.layers.multiscan import MultiScanMamba, moves
from zoo.scan import image_scan

D, H, W = 8, 3, 4


def single_walk_mixers(multi: MultiScanMamba) -> list[Mamba1Mixer]:
    """The 1-D Mamba blocks a MultiScanMamba's walks are: its shared projections, each walk's own SSM."""
    mixers = []
    for k in range(multi.n_walks):
        s = k % multi.n_sets
        rows = slice(s * multi.d_inner, (s + 1) * multi.d_inner)
        m = Mamba1Mixer(D, d_state=multi.d_state, expand=multi.d_inner // D, d_conv=multi.d_conv).double()
        with torch.no_grad():
            m.in_proj.weight.copy_(multi.in_proj.weight)
            m.out_proj.weight.copy_(multi.out_proj.weight)
            m.conv.weight.copy_(multi.conv.weight[rows])
            m.conv.bias.copy_(multi.conv.bias[rows])
            m.x_proj.weight.copy_(multi.x_proj[s])
            m.dt_proj.weight.copy_(multi.dt_proj[s])
            m.dt_proj.bias.copy_(multi.dt_bias[rows])
            m.A_log.copy_(multi.A_log[rows])
            m.D.copy_(multi.D[rows])
        mixers.append(m)
    return mixers


def multi(directions, order="sweep", **kw):
    torch.manual_seed(0)
    return MultiScanMamba(D, image_scan(order, directions, H, W), d_state=4, **kw).double()


def test_one_forward_sweep_is_a_plain_mamba_block_on_the_flattened_grid():
    block = multi("forward")
    x = torch.randn(2, H * W, D, dtype=torch.float64)
    (plain,) = single_walk_mixers(block)
    torch.testing.assert_close(block(x), plain(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("directions", ["cross4", "snake4"])
@pytest.mark.parametrize("share_params", [False, True])
def test_four_walks_summed_are_four_mamba_blocks_summed(directions, share_params):
    block = multi(directions, merge="sum", share_params=share_params)
    x = torch.randn(2, H * W, D, dtype=torch.float64)
    walks = block.scan(H * W)
    by_hand = sum(m(x[:, perm])[:, inv] for m, (perm, inv) in zip(single_walk_mixers(block), walks))
    torch.testing.assert_close(block(x), by_hand, rtol=1e-10, atol=1e-10)


def test_shared_parameters_are_one_set_of_tensors():
    shared, separate = multi("cross4", share_params=True), multi("cross4")
    for name in ("x_proj", "dt_proj"):
        assert getattr(shared, name).shape[0] == 1 and getattr(separate, name).shape[0] == 4
    assert shared.A_log.shape[0] == shared.d_inner and separate.A_log.shape[0] == 4 * separate.d_inner
    assert sum(p.numel() for p in shared.parameters()) < sum(p.numel() for p in separate.parameters())


@pytest.mark.parametrize("merge", ["concat", "gate"])
def test_learned_merges_start_as_the_mean(merge):
    x = torch.randn(2, H * W, D, dtype=torch.float64)
    mean, learned = multi("cross4", merge="mean"), multi("cross4", merge=merge)
    torch.testing.assert_close(learned(x), mean(x), rtol=1e-10, atol=1e-10)


def test_the_direction_embedding_moves_b_per_walk():
    block = multi("snake4", share_params=True, direction_embedding=True, grid=(H, W))
    assert block.direction_B.shape == (5, 4) and block.direction_B._no_weight_decay
    x = torch.randn(2, H * W, D, dtype=torch.float64)
    before = block(x)
    with torch.no_grad():
        block.direction_B[1] += 0.5
    assert not torch.allclose(block(x), before)


def test_each_step_embeds_the_move_it_makes_on_the_grid():
    """PlainMamba's table: 0 start, 1 right, 2 left, 3 up, 4 down; a snake on 2 x 3 goes right, right, down,
    left, left; its reverse starts at the end and goes right, right, up, left, left."""
    snake = torch.tensor([0, 1, 2, 5, 4, 3])
    walks = torch.cat([snake, snake.flip(0)])
    assert moves(walks, (2, 3), 2, 6).tolist() == [[0, 1, 1, 4, 2, 2], [0, 1, 1, 3, 2, 2]]
    with pytest.raises(ValueError, match="class token"):
        moves(walks[:10], (2, 3), 2, 5)


def test_a_class_token_rides_along_every_walk():
    scan = image_scan("sweep", "cross4", H, W, token_at=6)
    block = MultiScanMamba(D, scan, d_state=4).double()
    assert block(torch.randn(1, H * W + 1, D, dtype=torch.float64)).shape == (1, H * W + 1, D)
    with pytest.raises(ValueError, match=r"this scan walks 13 tokens"):
        block(torch.randn(1, H * W, D, dtype=torch.float64))


def test_other_mixers_walk_the_grid_through_directional():
    """A Mamba-2 (or any) mixer per walk: the block permutes, the mixer never does."""
    from zoo.layers import Mamba2Mixer
    torch.manual_seed(0)
    scan = image_scan("hilbert", "bidirectional", 4, 4)
    block = Directional(lambda: Mamba2Mixer(D, d_state=4, headdim=4), scan, D, merge="sum").double()
    x = torch.randn(2, 16, D, dtype=torch.float64)
    by_hand = sum(m(x[:, perm])[:, inv] for m, (perm, inv) in zip(block.mixers, scan(16)))
    torch.testing.assert_close(block(x), by_hand)


def test_conv2d_needs_a_grid_and_an_odd_width():
    with pytest.raises(ValueError, match=r"conv='2d' needs the token grid and an odd d_conv"):
        MultiScanMamba(D, image_scan("sweep", "forward", H, W), conv="2d", d_conv=4, grid=(H, W))
