"""3-D scan orders (zoo.scan.space), tested as the 2-D grid orders are: each is a bijection with a true
inverse, the Hilbert curves step only to face neighbours over a full cube, the hand-checked small case holds,
the transposed curve is the curve of the swapped axes, a batch orders each cloud alone, and bad input is named."""
import pytest
import torch

from zoo.scan import POINT_ORDERS, hilbert_index, point_order, quantise
from zoo.scan.space import hilbert, morton_index, trans_hilbert

from .test_scan import assert_bijection


def cube(bits: int) -> torch.Tensor:
    """Every cell of the 2^bits cube, x slowest."""
    side = torch.arange(1 << bits)
    return torch.stack(torch.meshgrid(side, side, side, indexing="ij"), -1).reshape(-1, 3)


def cloud(n: int, bits: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 1 << bits, (n, 3), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bits", [1, 2, 3])
@pytest.mark.parametrize("name", POINT_ORDERS)
def test_every_order_is_a_bijection_with_inverse(name, bits):
    assert_bijection(point_order(name, cube(bits), bits), 8 ** bits)
    assert_bijection(point_order(name, cloud(50, bits + 3), bits + 3), 50)  # repeated cells included


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_the_index_numbers_every_cell_of_the_cube_once(bits):
    for index in (hilbert_index, morton_index):
        assert torch.equal(index(cube(bits), bits).sort().values, torch.arange(8 ** bits))


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
@pytest.mark.parametrize("order", [hilbert, trans_hilbert])
def test_hilbert_steps_only_to_face_neighbours(order, bits):
    cells = cube(bits)
    path = cells[order(cells, bits)[0]]
    assert torch.all((path.diff(dim=0).abs().sum(-1)) == 1)
    assert path[0].tolist() == [0, 0, 0]  # starts at the origin's corner


def test_hilbert_2x2x2_by_hand():
    # a Gray code of the corners: x first changes last, each step flips one coordinate, from (0,0,0) to (1,0,0)
    path = cube(1)[hilbert(cube(1), 1)[0]].tolist()
    assert path == [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1], [1, 0, 0]]


def test_zorder_interleaves_bits_by_hand():
    # x = 1, y = 2 (binary 10), z = 3 (11): bits z1 y1 x1 z0 y0 x0 = 1 1 0 1 0 1
    assert morton_index(torch.tensor([[1, 2, 3]]), 2).item() == 0b110101


@pytest.mark.parametrize("bits", [2, 4])
def test_transposed_curves_are_the_curves_of_the_swapped_axes(bits):
    cells = cloud(200, bits, seed=1)
    swapped = cells[:, [1, 0, 2]]
    for name in ("hilbert", "zorder"):
        assert torch.equal(point_order(f"trans_{name}", cells, bits)[0], point_order(name, swapped, bits)[0])
    assert not torch.equal(point_order("hilbert", cells, bits)[0], point_order("trans_hilbert", cells, bits)[0])


def test_the_curves_keep_neighbours_closer_than_the_input_order():
    cells = cloud(512, 5, seed=2)
    step = lambda perm: cells[perm].diff(dim=0).abs().sum(-1).float().mean()  # noqa: E731
    for name in POINT_ORDERS:
        assert step(point_order(name, cells, 5)[0]) < 0.5 * step(torch.arange(512))


def test_a_batch_orders_each_cloud_alone():
    clouds = torch.stack([cloud(30, 4, seed=s) for s in range(3)])
    perm, inv = point_order("hilbert", clouds, 4)
    assert perm.shape == inv.shape == (3, 30)
    for b in range(3):
        alone = point_order("hilbert", clouds[b], 4)
        assert torch.equal(perm[b], alone[0]) and torch.equal(inv[b], alone[1])


def test_quantise_fills_the_cube_keeping_the_aspect():
    points = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 1.0, 0.5], [1.0, 0.5, 0.0]]])
    cells = quantise(points, 3)  # the longest side (x, 2.0) spans the 8 cells; y and z keep their proportion
    assert cells.tolist() == [[[0, 0, 0], [7, 4, 2], [4, 2, 0]]]
    assert quantise(torch.zeros(4, 3), 2).tolist() == [[0, 0, 0]] * 4  # one point repeated: no division by zero


@pytest.mark.parametrize("call,match", [
    (lambda: point_order("peano", cube(1), 1), "unknown point order 'peano'"),
    (lambda: point_order("hilbert", cube(2), 1), r"outside \[0, 2\)"),
    (lambda: point_order("hilbert", cube(1).float(), 1), "expected integers"),
    (lambda: point_order("hilbert", torch.zeros(4, 2, dtype=torch.long), 1), r"expected \(\.\.\., n, 3\)"),
    (lambda: hilbert_index(cube(1), 22), "at most 21 bits"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
