"""Task kinds: every domain package registers its own, data settings are checked against the kind's,
and the record's task name is known before anything is built."""
import pytest

from tasks import kinds


def test_each_task_finds_its_kind():
    assert kinds.kind_for("mqar").name == "token" and kinds.kind_for("forecast").name == "forecast"
    with pytest.raises(ValueError, match=r"data.task='forcast' is no task; did you mean 'forecast'"):
        kinds.kind_for("forcast")


def test_data_defaults_are_filled_and_unknown_keys_named():
    data = kinds.resolve_data({"task": "forecast", "horizon": 336})
    assert data["horizon"] == 336 and data["lookback"] == 96 and data["path"] is None
    with pytest.raises(ValueError, match=r"data.horizn is no setting of forecast data; did you mean 'horizon'"):
        kinds.resolve_data({"task": "forecast", "horizn": 336})


def test_a_task_served_twice_is_refused(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds._KINDS))
    clash = kinds.Kind("other", ("mqar",), {}, build=lambda cfg, data, make: None)
    with pytest.raises(ValueError, match=r"data.task 'mqar' is served by kind 'token' already"):
        kinds.register_kind(clash)


def test_forecast_task_name_is_the_file_stem():
    kind = kinds.kind_for("forecast")
    assert kind.task_name({"path": None}) == "ETTh1"
    assert kind.task_name({"path": "/data/ETTm2.csv"}) == "ETTm2"


def test_bad_metric_direction_is_refused():
    with pytest.raises(ValueError, match=r"directions must be one of \('max', 'min'\)"):
        kinds.Built(None, None, "t", {}, "test/x", {"x": "up"}, "things", len)


def test_mqar_asks_for_its_plot_against_state_size():
    from runners.run.config import compose
    from runners.run.train import prepare
    small = ["model.name=mamba", "data.n_train=8", "data.n_val=8", "data.n_test=8"]
    built = {p: prepare(compose("train", [f"pipeline={p}", *small])) for p in ("mqar", "induction_heads")}
    assert built["mqar"].versus == "state_size" and built["induction_heads"].versus is None


def test_the_optional_libraries_a_warm_worker_imports_come_from_the_kinds():
    assert {"timm", "torch_geometric"} <= set(kinds.libraries())
    assert kinds.kind_for("forecast").libraries == ()
