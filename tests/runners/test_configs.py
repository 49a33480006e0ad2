"""Every experiment and suite config composes, and each of its runs trains for two steps on tiny shapes."""
import pytest

from runners.suite import compare
from runners.run import train
from runners.run.config import CONF_DIR, compose

from .tiny import tiny

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
SUITES = sorted(p.stem for p in (CONF_DIR / "suite").glob("*.yaml"))
GRIDS = [name for name in SUITES if compose("compare", [f"suite={name}"]).suite.grid]  # not compositions
# the papers' scale: their data is downloaded and their runs are for GPUs, so they are composed and planned on
# the meta device (tests/runners/test_plan.py) and their loaders tested on small files in each format
PAPER = [e.name for e in compose("compare", ["suite=survey_paper"]).suite.suites]


def tiny_run(tmp_path, overrides):
    overrides = [*overrides, *tiny(overrides)]
    rec = train.run(compose("train", [*overrides, f"results_dir={tmp_path}"]), overrides)
    assert rec["status"] == "ok", rec.get("error")
    value = rec["metrics"][rec["primary_metric"]]
    if rec["primary_metric"].endswith("acc"):
        assert 0 <= value <= 1
    else:  # two steps from the initialisation: bits per byte are still far above a trained model's
        assert 0 <= value < (100 if rec["primary_metric"].endswith("bpb") else 10)
    return rec


def test_there_are_configs_to_test():
    assert EXPERIMENTS and {"language", "smoke"} <= set(GRIDS) and "survey" in set(SUITES) - set(GRIDS)


def test_the_survey_runs_every_domains_suite_on_seed_0():
    import zoo
    survey = compare.members(compose("compare", ["suite=survey"]).suite)
    assert all(list(s.seeds) == [0] and s.grid for s in survey)
    # every suite but the smoke test and the papers' scale: a new domain's suite must be added here
    assert sorted(s.name for s in survey) == sorted(set(GRIDS) - {"smoke", *PAPER})
    models = {m for s in survey for b in s.grid for m in b.models}
    # every registered domain has a model in it
    assert {zoo.model_info(m).taxonomy["domain"] for m in models} == set(zoo.registry.domains())
    # a member is its own suite file at seed 0: the same runs, so the same records
    for member in survey:
        alone = compose("compare", [f"suite={member.name}"]).suite
        assert compare.expand(member, [0]) == compare.expand(alone, [0])


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_runs(tmp_path, name):
    rec = tiny_run(tmp_path, [f"experiment={name}"])
    assert f"experiment={name}" in rec["command"]


@pytest.mark.parametrize("name", sorted(set(GRIDS) - set(PAPER)))
def test_every_run_of_a_suite_composes_and_trains(tmp_path, name):
    suite = compose("compare", [f"suite={name}"]).suite
    values = list(suite.tune["values"])  # .values is the mapping method
    per_seed = sum(len(b.pipelines) * len(b.models) * len(b.points) for b in suite.grid)
    assert len(compare.expand(suite)) == per_seed * len(suite.seeds) * max(1, len(values))
    # the first seed at the first tuned value: each (pipeline, model, point) once
    for overrides in compare.expand(suite, suite.seeds[:1], lambda i: values[:1]):
        tiny_run(tmp_path, overrides)


def test_language_suite_models_match_parameter_counts(tmp_path):
    suite = compose("compare", ["suite=language"]).suite
    assert len(suite.seeds) >= 2
    assert {"mamba", "mamba2", "s4d", "transformerpp", "jamba_style"} <= {m for b in suite.grid for m in b.models}
    _, mismatches = compare.check_runs(suite, str(tmp_path))
    assert mismatches == []


def test_parameter_mismatch_is_reported(tmp_path):
    suite = compose("compare", ["suite=smoke"]).suite
    suite.grid[0].points = [["model.pattern=MMMMMM"]]  # mamba 3x deeper than transformerpp
    _, mismatches = compare.check_runs(suite, str(tmp_path))
    assert mismatches and "differ by more than 10%" in mismatches[0]


def test_timeseries_suite_pairs_match_parameter_counts(tmp_path):
    suite = compose("compare", ["suite=timeseries"]).suite
    models = {m for b in suite.grid for m in b.models}
    assert {"s_mamba", "timemachine", "bimamba_plus", "itransformer", "patchtst", "dlinear"} <= models
    assert len(suite.seeds) >= 2 and suite.tune.mode == "min"
    _, mismatches = compare.check_runs(suite, str(tmp_path))
    assert mismatches == []


def test_vision_suites_compare_every_variant_and_every_scan_at_one_budget(tmp_path):
    import zoo
    from zoo.scan import DIRECTION_SETS, GRID_ORDERS
    suite = compose("compare", ["suite=vision"]).suite
    assert {m for b in suite.grid for m in b.models} == set(zoo.list_models(domain="vision"))
    assert len(suite.seeds) >= 2 and suite.tune.mode == "max"
    assert compare.check_runs(suite, str(tmp_path))[1] == []
    scans = compose("compare", ["suite=vision_scans"]).suite
    points = [dict(o.split("=", 1) for o in p) for b in scans.grid for p in b.points]
    orders = {p["model.order"].split(":")[0] for p in points}
    assert orders | {"columns"} == set(GRID_ORDERS) and {p["model.directions"] for p in points} == set(DIRECTION_SETS)
    assert len({n for n in compare.check_runs(scans, str(tmp_path))[0]}) == len(points) * len(scans.seeds)
    assert compare.check_runs(scans, str(tmp_path), )[1] == []  # shared parameters: one count at every point


def test_graph_suite_runs_every_variant_on_every_set_and_ablates_the_order(tmp_path, monkeypatch):
    import zoo
    from zoo.scan import GRAPH_ORDERS
    monkeypatch.setenv("MAMBAZOO_DATA_ROOT", str(tmp_path))
    suite = compose("compare", ["suite=graph"]).suite
    main = suite.grid[0]
    assert set(main.models) == set(zoo.list_models(domain="graph")) and len(suite.seeds) >= 2
    assert {p for b in suite.grid for p in b.pipelines} == {"pattern", "cluster", "freesolv"}
    ablated = {o.split("=")[1] for b in suite.grid for p in b.points for o in p if o.startswith("model.order=")}
    assert ablated | {zoo.resolved_config("graph_mamba")["order"]} == set(GRAPH_ORDERS)
    assert compare.check_runs(suite, str(tmp_path))[1] == []
