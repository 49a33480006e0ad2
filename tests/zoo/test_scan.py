"""Scan orders: each is a bijection with a true inverse, the hand-checked small cases hold,
continuous orders only step to grid neighbours, and bad input is named in the error."""
import pytest
import torch

from zoo.scan import (GRAPH_ORDERS, GRID_ORDERS, atrous, bidirectional, columns, cross4, degree, graph_order,
                      grid_order, grid_scan, hilbert, image_scan, line_scan, local, random, reverse, snake, snake4,
                      sweep, with_token, zorder)

SIZES = [(1, 1), (1, 7), (7, 1), (5, 3), (8, 8), (6, 10)]

GRID_CASES = {
    "sweep": sweep,
    "columns": columns,
    "snake": snake,
    "zorder": zorder,
    "hilbert": hilbert,
    "local2": lambda H, W: local(H, W, 2),
    "local3": lambda H, W: local(H, W, 3),
    "local_big": lambda H, W: local(H, W, 16),
    "atrous2": lambda H, W: atrous(H, W, 2),
    "atrous3": lambda H, W: atrous(H, W, 3),
}
SET_CASES = {
    "cross4": cross4,
    "snake4": snake4,
    "bidirectional_hilbert": lambda H, W: bidirectional(hilbert(H, W)),
}


def assert_bijection(order, n):
    perm, inv = order
    assert perm.dtype == torch.long and inv.dtype == torch.long
    assert perm.shape == (n,) and inv.shape == (n,)
    assert torch.equal(perm.sort().values, torch.arange(n))
    assert torch.equal(perm[inv], torch.arange(n))
    assert torch.equal(inv[perm], torch.arange(n))


def steps(perm, W):
    """Manhattan distance of every step along the path."""
    rows, cols = perm // W, perm % W
    return (rows.diff().abs() + cols.diff().abs())


@pytest.mark.parametrize("H, W", SIZES)
@pytest.mark.parametrize("name", GRID_CASES)
def test_grid_order_is_a_bijection_with_inverse(name, H, W):
    assert_bijection(GRID_CASES[name](H, W), H * W)


@pytest.mark.parametrize("H, W", SIZES)
@pytest.mark.parametrize("name", SET_CASES)
def test_direction_sets_are_distinct_bijections(name, H, W):
    orders = SET_CASES[name](H, W)
    for order in orders:
        assert_bijection(order, H * W)
    if H * W > 1:
        # a reversed order visits the same cells backwards, never in the same sequence
        assert not torch.equal(orders[0][0], orders[-1 if len(orders) == 2 else 2][0])


def test_sweep_is_identity():
    assert sweep(3, 4)[0].tolist() == list(range(12))


def test_snake_3x3_by_hand():
    assert snake(3, 3)[0].tolist() == [0, 1, 2, 5, 4, 3, 6, 7, 8]


def test_zorder_by_hand():
    assert zorder(4, 4)[0].tolist() == [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]
    # 3x3 keeps the cells of the 4x4 Z curve that exist: (0,0) (0,1) (1,0) (1,1) (0,2) (1,2) (2,0) (2,1) (2,2)
    assert zorder(3, 3)[0].tolist() == [0, 1, 3, 4, 2, 5, 6, 7, 8]


def test_hilbert_by_hand():
    # down, right, up: the 2x2 curve from the top-left to the top-right corner
    assert hilbert(2, 2)[0].tolist() == [0, 2, 3, 1]
    assert hilbert(4, 4)[0].tolist() == [0, 1, 5, 4, 8, 12, 13, 9, 10, 14, 15, 11, 7, 6, 2, 3]


def test_local_by_hand():
    assert local(4, 4, 2)[0].tolist() == [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]
    # 3x5 with 2x2 windows: edge tiles are 2x1, 1x2 and 1x1
    assert local(3, 5, 2)[0].tolist() == [0, 1, 5, 6, 2, 3, 7, 8, 4, 9, 10, 11, 12, 13, 14]
    assert local(3, 5, 1)[0].tolist() == list(range(15))


def test_atrous_by_hand():
    assert atrous(4, 4, 2)[0].tolist() == [0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15]
    assert atrous(3, 3, 1)[0].tolist() == list(range(9))


def test_cross4_by_hand():
    # grid [[0, 1, 2], [3, 4, 5]]
    assert [p.tolist() for p, _ in cross4(2, 3)] == [
        [0, 1, 2, 3, 4, 5], [0, 3, 1, 4, 2, 5], [5, 4, 3, 2, 1, 0], [5, 2, 4, 1, 3, 0]]


def test_snake4_by_hand():
    assert [p.tolist() for p, _ in snake4(2, 3)] == [
        [0, 1, 2, 5, 4, 3], [0, 3, 4, 1, 2, 5], [3, 4, 5, 2, 1, 0], [5, 2, 1, 4, 3, 0]]


def test_bidirectional_is_forward_then_backward():
    forward, backward = bidirectional(snake(2, 2))
    assert forward[0].tolist() == [0, 1, 3, 2]
    assert backward[0].tolist() == [2, 3, 1, 0]
    assert_bijection(backward, 4)


@pytest.mark.parametrize("H, W", SIZES)
def test_snakes_only_step_to_neighbours(H, W):
    for perm, _ in [snake(H, W)] + snake4(H, W):
        assert torch.all(steps(perm, W) == 1)


@pytest.mark.parametrize("side", [2, 4, 8, 16])
def test_hilbert_power_of_two_only_steps_to_neighbours(side):
    assert torch.all(steps(hilbert(side, side)[0], side) == 1)


def test_hilbert_other_sizes_mostly_local():
    # not exact adjacency (documented), but far more local than a row-major sweep's line jumps
    perm = hilbert(6, 10)[0]
    assert steps(perm, 10).float().mean() < 1.5


@pytest.mark.parametrize("order", [snake(5, 3), zorder(5, 3), hilbert(5, 3), local(5, 3, 2), atrous(5, 3, 2),
                                   *cross4(5, 3)])
def test_perm_then_inv_restores_tokens(order):
    perm, inv = order
    tokens = torch.randn(2, 15, 4)
    reordered = tokens[:, perm]
    assert not torch.equal(reordered, tokens) or torch.equal(perm, torch.arange(15))
    assert torch.equal(reordered[:, inv], tokens)


def star(leaves):
    """Node 0 joined to nodes 1..leaves, both directions listed."""
    centre = torch.zeros(leaves, dtype=torch.long)
    others = torch.arange(1, leaves + 1)
    return torch.stack([torch.cat([centre, others]), torch.cat([others, centre])])


def test_degree_puts_low_degree_first_and_hub_last():
    # star on 0..4 plus the edge 1-2: degrees 4, 2, 2, 1, 1
    edges = torch.cat([star(4), torch.tensor([[1, 2], [2, 1]])], dim=1)
    for seed in range(5):
        perm, inv = degree(edges, 5, generator=torch.Generator().manual_seed(seed))
        assert_bijection((perm, inv), 5)
        assert set(perm[:2].tolist()) == {3, 4}
        assert set(perm[2:4].tolist()) == {1, 2}
        assert perm[-1].item() == 0


def test_degree_ties_follow_the_generator():
    edges = star(8)

    def order(seed):
        return degree(edges, 9, generator=torch.Generator().manual_seed(seed))[0]

    assert torch.equal(order(0), order(0))
    assert not torch.equal(order(0), order(1))
    assert order(0)[-1].item() == order(1)[-1].item() == 0


def test_degree_without_noise_is_stable():
    assert degree(star(8), 9, noise=False)[0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 0]
    # isolated nodes (degree 0) come first, in index order
    assert degree(star(2), 5, noise=False)[0].tolist() == [3, 4, 1, 2, 0]


def test_random_follows_the_generator():
    def order(seed):
        return random(20, generator=torch.Generator().manual_seed(seed))

    assert_bijection(order(0), 20)
    assert torch.equal(order(0)[0], order(0)[0])
    assert not torch.equal(order(0)[0], order(1)[0])


def test_registries_name_every_order():
    assert set(GRID_ORDERS) == {"sweep", "columns", "snake", "zorder", "hilbert", "local", "atrous"}
    assert set(GRAPH_ORDERS) == {"degree", "random", "bfs"}
    assert torch.equal(grid_order("local", 4, 4, window=2)[0], local(4, 4, 2)[0])
    assert torch.equal(grid_order("hilbert", 8, 8)[0], hilbert(8, 8)[0])
    assert graph_order("degree", star(3), 4, noise=False)[0].tolist() == [1, 2, 3, 0]
    g = torch.Generator().manual_seed(3)
    assert torch.equal(graph_order("random", star(3), 4, generator=g)[0],
                       random(4, generator=torch.Generator().manual_seed(3))[0])


@pytest.mark.parametrize("call, pattern", [
    (lambda: grid_order("spiral", 4, 4), r"unknown grid order 'spiral', expected one of atrous, columns, hilbert, local, "
                                         r"snake, sweep, zorder"),
    (lambda: graph_order("spectral", star(2), 3), r"unknown graph order 'spectral', expected one of bfs, degree, random"),
    (lambda: snake(0, 4), r"H=0, expected an int >= 1"),
    (lambda: hilbert(4, -2), r"W=-2, expected an int >= 1"),
    (lambda: local(4, 4, 0), r"window=0, expected an int >= 1"),
    (lambda: atrous(4, 4, -1), r"stride=-1, expected an int >= 1"),
    (lambda: cross4(0, 3), r"H=0, expected an int >= 1"),
    (lambda: degree(torch.zeros(3, 4, dtype=torch.long), 5), r"edge_index has shape \(3, 4\), expected \(2, num_edges\)"),
    (lambda: degree(torch.zeros(8, dtype=torch.long), 5), r"edge_index has shape \(8,\), expected \(2, num_edges\)"),
    (lambda: degree(star(4), 4), r"edge_index holds node index 4, expected indices in \[0, num_nodes=4\)"),
    (lambda: degree(torch.tensor([[0], [-1]]), 4), r"edge_index holds node index -1"),
    (lambda: graph_order("random", star(4), 3), r"edge_index holds node index 4"),
    (lambda: random(-1), r"num_nodes=-1, expected an int >= 0"),
])
def test_bad_input_names_argument_got_and_expected(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match=r"H must be an int, got float 2.5"):
        sweep(2.5, 3)
    with pytest.raises(TypeError, match=r"window must be an int, got bool"):
        local(4, 4, True)
    with pytest.raises(TypeError, match=r"edge_index has dtype float32, expected an integer dtype"):
        degree(torch.zeros(2, 3), 4)


def test_columns_walks_down_each_column():
    assert columns(2, 3)[0].tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("position", [0, 2, 4])
def test_with_token_visits_the_extra_token_at_its_step_and_keeps_the_rest_in_order(position):
    perm, inv = with_token(snake(2, 2), position)
    assert_bijection((perm, inv), 5)
    assert perm[position] == position
    patches = torch.cat([perm[:position], perm[position + 1:]])
    # the patches in snake order, their indices shifted past the token
    assert patches.tolist() == [p + (p >= position) for p in snake(2, 2)[0].tolist()]


def test_a_middle_token_stays_in_the_middle_of_the_reversed_walk():
    """Vim's class token: in the middle of the sequence and of both its walks."""
    forward, backward = image_scan("sweep", "bidirectional", 2, 2, token_at=2)(5)
    assert forward[0].tolist() == [0, 1, 2, 3, 4] and backward[0].tolist() == [4, 3, 2, 1, 0]


def test_grid_scan_builds_each_order_then_the_reverses():
    orders = grid_scan(["sweep", "local:2"], "bidirectional", 4, 4)
    assert [o[0].tolist() for o in orders] == [o[0].tolist() for o in
                                               [sweep(4, 4), local(4, 4, 2), reverse(sweep(4, 4)), reverse(local(4, 4, 2))]]
    assert [o[0].tolist() for o in grid_scan("sweep", "cross4", 3, 5)] == [o[0].tolist() for o in cross4(3, 5)]
    assert len(grid_scan("atrous:2", "forward", 4, 4)) == 1


@pytest.mark.parametrize("order, directions, message", [
    ("spiral", "forward", r"scan order 'spiral' is unknown; orders: atrous, columns"),
    ("local", "forward", r"local needs a size, e\.g\. local:2"),
    ("sweep:2", "forward", r"sweep takes no size"),
    ("local:0", "forward", r"the window must be a positive integer"),
    ("local:5", "forward", r"the window is larger than the 4x4 grid"),
    ("sweep", "sideways", r"scan directions 'sideways' is unknown; direction sets: forward, bidirectional, cross4"),
    ("snake", "cross4", r"directions=cross4 brings its own four orders"),
    ([], "forward", r"empty list"),
])
def test_bad_scan_settings_name_the_setting(order, directions, message):
    with pytest.raises(ValueError, match=message):
        grid_scan(order, directions, 4, 4)


def test_a_scan_refuses_a_sequence_of_another_length():
    scan = image_scan("sweep", "forward", 2, 3, token_at=0)
    assert scan.count == 1 and len(scan(7)) == 1
    with pytest.raises(ValueError, match=r"this scan walks 7 tokens \(2x3 grid, class token\), got 6"):
        scan(6)
    assert line_scan("bidirectional").count == 2


def test_stacked_walks_equal_the_walks_one_by_one_and_come_back_in_token_order():
    scan = image_scan(["zorder", "local:2"], "bidirectional", 4, 4, token_at=8)
    x = torch.randn(3, 17, 5)
    along, back = scan.stacked(17)
    walked = x.index_select(1, along).view(3, 4, 17, 5)
    for k, (perm, _) in enumerate(scan(17)):
        assert torch.equal(walked[:, k], x[:, perm])
    # a different output per walk, so an index that mixed walks up would show
    outputs = walked + torch.arange(4.0).view(1, 4, 1, 1)
    restored = outputs.reshape(3, 4 * 17, 5).index_select(1, back).view(3, 4, 17, 5)
    assert torch.equal(restored, x[:, None] + torch.arange(4.0).view(1, 4, 1, 1))
