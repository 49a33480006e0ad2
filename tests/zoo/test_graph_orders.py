"""Graph orders over a PyG-style batch: bijections that keep graphs contiguous, each order's rule inside a
graph, and the same order for a graph alone as inside a batch."""
import pytest
import torch

from zoo.scan import bfs, degree, graph_order, random


def undirected(pairs):
    edges = torch.tensor(pairs, dtype=torch.long).T
    return torch.cat([edges, edges.flip(0)], 1)


# graph 0: a path 0-1-2-3 with a leaf 4 on node 1 (degrees 1,3,2,1,1); graph 1: a triangle 5-6-7 and node 8 on 7
EDGES = undirected([(0, 1), (1, 2), (2, 3), (1, 4), (5, 6), (6, 7), (5, 7), (7, 8)])
BATCH = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1])
NODES = 9


def check_grouped(perm):
    assert sorted(perm.tolist()) == list(range(NODES))
    assert torch.equal(BATCH[perm], BATCH)  # graphs contiguous and in batch order


@pytest.mark.parametrize("name", ["degree", "random", "bfs"])
def test_every_order_is_a_bijection_that_keeps_graphs_contiguous(name):
    perm, inv = graph_order(name, EDGES, NODES, generator=torch.Generator().manual_seed(0), batch=BATCH)
    check_grouped(perm)
    assert torch.equal(perm[inv], torch.arange(NODES))


def test_degree_order_ascends_inside_each_graph():
    perm, _ = degree(EDGES, NODES, noise=False, batch=BATCH)
    assert perm.tolist() == [0, 3, 4, 2, 1, 8, 5, 6, 7]
    for seed in range(5):  # noise only reorders ties
        noisy, _ = degree(EDGES, NODES, generator=torch.Generator().manual_seed(seed), batch=BATCH)
        deg = torch.bincount(EDGES[0], minlength=NODES)
        assert deg[noisy[:5]].tolist() == sorted(deg[:5].tolist())
        assert deg[noisy[5:]].tolist() == sorted(deg[5:].tolist())


def test_bfs_walks_layers_out_from_the_best_connected_node():
    perm, _ = bfs(EDGES, NODES, noise=False, batch=BATCH)
    # graph 0: root 1, then its neighbours 0, 2, 4, then 3; graph 1: root 7 (degree 3), then 5, 6, 8
    assert perm.tolist() == [1, 0, 2, 4, 3, 7, 5, 6, 8]


def test_bfs_puts_unreachable_nodes_last():
    edges = undirected([(0, 1), (1, 2)])  # node 3 is isolated
    perm, _ = bfs(edges, 4, noise=False)
    assert perm.tolist() == [1, 0, 2, 3]


def test_a_graph_alone_gets_the_order_it_gets_in_a_batch():
    alone, _ = degree(EDGES[:, EDGES[0] < 5], 5, noise=False)
    batched, _ = degree(EDGES, NODES, noise=False, batch=BATCH)
    assert torch.equal(batched[:5], alone)


def test_random_order_follows_the_generator_per_batch():
    def order(seed):
        return random(NODES, generator=torch.Generator().manual_seed(seed), batch=BATCH)[0]
    check_grouped(order(0))
    assert torch.equal(order(0), order(0)) and not torch.equal(order(0), order(1))


def test_an_unsorted_batch_is_refused():
    with pytest.raises(ValueError, match="batch must be sorted ascending"):
        degree(EDGES, NODES, batch=BATCH.flip(0))
    with pytest.raises(ValueError, match=r"batch has shape \(3,\), expected \(9,\)"):
        degree(EDGES, NODES, batch=BATCH[:3])
