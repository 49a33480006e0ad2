"""Every registered graph model: shapes, gradients, equivariance where it must hold, the order gap where it
does not (and permutation averaging shrinking it), and no leak between the graphs of a batch."""
import pytest
import torch

pytest.importorskip("torch_geometric")
from torch_geometric.data import Batch, Data  # noqa: E402

import zoo  # noqa: E402
from zoo.graph import gmn, ordered  # noqa: E402
from zoo.scan import degree  # noqa: E402

MODELS = zoo.list_models(domain="graph")
PE = 4
NODE_IO = dict(node_features=[3], out_dim=2, level="node", pe_dim=PE)
MOL_IO = dict(node_features=[5, 2], edge_features=[3], out_dim=1, level="graph", pe_dim=PE)


def random_graph(n, seed, edge_features=False):
    g = torch.Generator().manual_seed(seed)
    upper = (torch.rand(n, n, generator=g) < 0.35).triu(1)
    edge_index = (upper | upper.T).nonzero().T
    data = Data(x=torch.randint(0, 3, (n, 1), generator=g), edge_index=edge_index, pe=torch.rand(n, PE, generator=g))
    if edge_features:
        data.x = torch.stack([torch.randint(0, 5, (n,), generator=g), torch.randint(0, 2, (n,), generator=g)], 1)
        data.edge_attr = torch.randint(0, 3, (edge_index.shape[1], 1), generator=g)
    return data


def build(name, io=NODE_IO, **kw):
    torch.manual_seed(0)
    return zoo.create_model(name, d_model=16, layers=2, **io, **kw).double()


def batch(*graphs):
    return Batch.from_data_list(list(graphs))


def as_double(data):
    data = data.clone()
    data.pe = data.pe.double()
    return data


def test_the_graph_domain_has_its_variants_and_baselines():
    assert {"graph_mamba", "gmn", "gps", "gatedgcn"} <= set(MODELS)
    assert all(zoo.model_info(m).taxonomy["section"] for m in MODELS)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("io", [NODE_IO, MOL_IO], ids=["nodes", "molecules"])
def test_shape_finite_and_every_parameter_learns(name, io):
    model = build(name, io)
    molecules = io is MOL_IO
    data = as_double(batch(*(random_graph(n, n, molecules) for n in (6, 9, 4))))
    out = model(data)
    assert out.shape == ((3, 1) if molecules else (19, 2)) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()] == []


def node_permuted(data, perm):
    """The same graph with node i renamed inv[i]: features reordered by perm, edges renamed."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    return Data(x=data.x[perm], pe=data.pe[perm], edge_index=inv[data.edge_index])


def order_gap(model, data, perm, perms=None):
    model.eval()
    with torch.no_grad():
        return (model(batch(data), perms)[perm] - model(batch(node_permuted(data, perm)), perms)).abs().max().item()


@pytest.mark.parametrize("name", [m for m in MODELS if not build(m).ordered])
def test_unordered_models_are_permutation_equivariant(name):
    data = as_double(random_graph(11, 3))
    assert order_gap(build(name), data, torch.randperm(11, generator=torch.Generator().manual_seed(1))) < 1e-10


@pytest.mark.parametrize("name", [m for m in MODELS if build(m).ordered])
def test_ordered_models_depend_on_node_order_and_averaging_shrinks_it(name):
    data = as_double(random_graph(16, 5))
    model = build(name)
    gaps = [[order_gap(model, data, torch.randperm(16, generator=torch.Generator().manual_seed(s)), p)
             for s in range(3)] for p in (1, 8)]
    assert min(gaps[0]) > 1e-6  # not equivariant: the order is the scan's input
    assert sum(gaps[1]) < sum(gaps[0])


def test_padding_never_leaks_between_graphs(monkeypatch):
    """Each graph in a batch gets what it gets alone (a fixed order, so only the batching differs)."""
    monkeypatch.setattr(ordered, "graph_order", lambda name, ei, n, generator=None, batch=None:
                        degree(ei, n, noise=False, batch=batch))
    model = build("graph_mamba").eval()
    graphs = [as_double(random_graph(n, n)) for n in (3, 12, 7)]
    together = model(batch(*graphs))
    alone = torch.cat([model(batch(g)) for g in graphs])
    assert torch.allclose(together, alone, atol=1e-10)


def test_reversal_flips_each_graph_and_keeps_padding_in_place():
    mask = torch.tensor([[True, True, True], [True, False, False]])
    assert ordered.reversal(mask).tolist() == [[2, 1, 0], [0, 1, 2]]


def test_random_walks_follow_edges_and_isolated_nodes_stay():
    edges = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # path 0-1-2; node 3 isolated
    walks = gmn.random_walks(edges, 4, torch.arange(4).repeat(50), 5, torch.Generator().manual_seed(0))
    assert walks.shape == (200, 6) and (walks[3::4] == 3).all()
    steps = {(a, b) for row in walks[walks[:, 0] != 3].tolist() for a, b in zip(row, row[1:])}
    assert steps == {(0, 1), (1, 0), (1, 2), (2, 1)}


@pytest.mark.parametrize("settings, message", [
    (dict(order="spiral"), r"unknown graph order 'spiral', expected one of bfs, degree, random"),
    (dict(global_mixer="transformer"), r"global_mixer='transformer' is not one of"),
    (dict(global_mixer="mamba1", merge="gate"), r"merge='gate' is not one of sum, mean, concat for graphs"),
    (dict(global_mixer="attention", heads=5), r"d_model=16 is not divisible by heads=5"),
    (dict(local=None, global_mixer=None), r"needs a local MPNN, a global mixer or both"),
    (dict(eval_perms=0), r"model.eval_perms must be a positive number \(default \d+\), got 0"),
])
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        zoo.create_model("graph_mamba", d_model=16, **{**NODE_IO, **settings})


def test_a_feature_width_the_model_was_not_built_for_is_refused():
    model = build("gps")
    data = as_double(batch(random_graph(5, 0, edge_features=True)))  # two node columns, the model takes one
    with pytest.raises(ValueError, match=r"got 2 feature columns, the model was built for 1"):
        model(data)
