"""The forecasting protocol's arithmetic checked by hand on small files the tests write: split borders,
training-split statistics, windows, the metrics of a naive forecast, and one-line errors for bad files."""
import math

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf

from runners.run.trainer import BestWeights
from tasks.timeseries.data import Forecasting
from tasks.timeseries.series import SHIPPED, borders, read_series
from tasks.timeseries.task import ForecastTask


def write_csv(path, rows, header="date,a,b"):
    lines = [header] + [f"2020-01-01 {i:05d},{a},{b}" for i, (a, b) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def ramp(path, n):
    """a = i, b = -3i: after z-normalisation both are +-(i - mean) / std."""
    return write_csv(path, [(i, -3 * i) for i in range(n)])


def data(path, lookback=3, horizon=2, split="ratio", batch_size=4):
    return Forecasting("forecast", str(path), lookback, horizon, split, batch_size, None)


def test_ratio_split_borders_and_training_statistics_by_hand(tmp_path):
    d = data(ramp(tmp_path / "s.csv", 30))
    # 70% of 30 = 21 training rows, 20% = 6 test rows, the 3 between are validation; val and test start
    # lookback = 3 rows early so their first target follows the previous split
    assert d.spans == {"train": (0, 21), "val": (18, 24), "test": (21, 30)}
    # mean of 0..20 is 10; population variance of 21 consecutive integers is (21^2 - 1) / 12
    assert d.mean.tolist() == [10.0, -30.0]
    assert d.std.tolist() == pytest.approx([math.sqrt(440 / 12), 3 * math.sqrt(440 / 12)], rel=1e-12)
    x, y = d.windows("test")[0]
    s = math.sqrt(440 / 12)
    assert x[:, 0].tolist() == pytest.approx([(i - 10) / s for i in (21, 22, 23)], rel=1e-6)
    assert y[:, 0].tolist() == pytest.approx([(i - 10) / s for i in (24, 25)], rel=1e-6)
    assert len(d.windows("train")) == 21 - 3 - 2 + 1 and len(d.windows("test")) == 9 - 3 - 2 + 1


def test_informer_split_of_an_hourly_file():
    # 12 / 4 / 4 months of 30 days of 24 hours
    assert borders(17420, "ett_hour", 96, 96) == {"train": (0, 8640), "val": (8544, 11520), "test": (11424, 14400)}
    assert borders(69680, "ett_15min", 96, 96)["test"] == (4 * 11520 - 96, 4 * 14400)


def test_the_shipped_etth1_is_split_the_informer_way():
    d = Forecasting("forecast", None, 96, 96, "auto", 32, None)
    assert d.split == "ett_hour" and d.n_vars == 7 and d.series.columns[-1] == "OT"
    described = d.describe()
    assert described["spans"]["train"] == "2016-07-01 00:00:00 .. 2017-06-25 23:00:00"
    assert described["dataset"] == "ETTh1" and len(d.windows("test")) == 2880 - 96 + 1


def test_a_last_value_forecast_scores_the_mse_and_mae_computed_by_hand(tmp_path):
    """On a ramp every window's naive error at step h is h / std, whatever the window: MSE is the mean of
    h^2 / std^2 over h = 1..H, MAE the mean of h / std."""
    horizon = 4
    d = data(ramp(tmp_path / "s.csv", 60), lookback=5, horizon=horizon)

    class LastValue(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return x[:, -1:, :].expand(-1, horizon, -1)

    cfg = OmegaConf.create({"optim": {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.99], "grad_clip": None},
                            "schedule": {"warmup_steps": 0, "min_lr_ratio": 1.0}, "trainer": {"max_steps": 1}})
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    [result] = trainer.test(ForecastTask(LastValue(), cfg), datamodule=d, verbose=False)
    s = math.sqrt((42 ** 2 - 1) / 12)  # std of 0..41, the 70% training rows
    assert result["test/mse"] == pytest.approx(sum(h * h for h in range(1, 5)) / 4 / s ** 2, rel=1e-5)
    assert result["test/mae"] == pytest.approx(sum(range(1, 5)) / 4 / s, rel=1e-5)


@pytest.mark.parametrize("content, message", [
    ("time,a\n1,2\n", r"the first column must be 'date'.*found 'time'"),
    ("date,a,b\n2020,1,x\n", r"line 2, column 'b': 'x' is not a number"),
    ("date,a,b\n2020,1\n", r"line 2 has 2 fields, the header 3"),
    ("date\n2020\n", r"no variable columns after 'date'"),
    ("date,a\n2020,nan\n", r"line 2, column 'a' is nan"),
])
def test_malformed_files_fail_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        read_series(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_too_short_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"too short: its val split has 5 rows, fewer than lookback \+ horizon = 6"):
        data(ramp(tmp_path / "s.csv", 20), lookback=3, horizon=3)
    with pytest.raises(ValueError, match=r"has 20 rows, the ett_hour split needs 14400"):
        data(tmp_path / "s.csv", split="ett_hour")
    with pytest.raises(ValueError, match=r"data.path=.*nope.csv: no such file"):
        data(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match=r"data.split='weekly' is not one of auto, ett_hour, ett_15min, ratio"):
        data(tmp_path / "s.csv", split="weekly")
    assert SHIPPED.exists() and (SHIPPED.parent / "LICENSE").exists()


def test_best_weights_stop_after_patience_and_are_the_ones_tested():
    class Stub:
        sanity_checking, should_stop = False, False

    module, trainer, keep = torch.nn.Linear(1, 1), Stub(), BestWeights(patience=2)
    for step, loss in enumerate([3.0, 2.0, 2.5, 2.6]):
        with torch.no_grad():
            module.weight.fill_(step)
        trainer.callback_metrics = {"val/loss": torch.tensor(loss)}
        keep.on_validation_end(trainer, module)
        assert trainer.should_stop == (step == 3)
    keep.on_fit_end(trainer, module)
    assert module.weight.item() == 1.0  # the weights of the best validation (loss 2.0)


def test_ett_names_download_once_into_the_cache_and_fail_in_one_line_offline(tmp_path, monkeypatch):
    import io
    import urllib.error

    from tasks.timeseries import series
    served = []

    def fake_urlopen(url, timeout):
        served.append(url)
        return io.BytesIO(ramp(tmp_path / "src.csv", 40).read_bytes())
    monkeypatch.setattr(series.urllib.request, "urlopen", fake_urlopen)
    d = Forecasting("forecast", "ETTm2", 3, 2, "ratio", 4, None, cache=tmp_path / "cache")
    assert served == [series.ETT_URL.format(name="ETTm2")] and d.series.name == "ETTm2"
    assert (tmp_path / "cache" / "ett" / "ETTm2.csv").exists()
    Forecasting("forecast", "ETTm2", 3, 2, "ratio", 4, None, cache=tmp_path / "cache")
    assert len(served) == 1                                   # the second time it is read from the cache

    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(series.urllib.request, "urlopen", offline)
    with pytest.raises(ValueError, match=r"data.path=ETTh2: not cached at .*ETTh2.csv, and downloading .* failed "
                                         r"\(Name or service not known\); put the file there") as err:
        series.locate("ETTh2", tmp_path / "cache")
    assert "\n" not in str(err.value) and not (tmp_path / "cache" / "ett" / "ETTh2.csv").exists()
    assert series.locate(None, tmp_path) == series.locate("ETTh1", tmp_path) == SHIPPED


def test_bimamba_plus_tokenisation_is_what_its_decider_picks_on_etth1():
    """Bi-Mamba+'s series-relation-aware decider (lambda 0.6) on the shipped ETTh1's training rows: the
    variant file's token_axis must be its choice (2 of 6 strongly correlated partners at most: 1/3 < 0.4)."""
    import zoo
    from zoo.timeseries import sra_decision
    d = Forecasting("forecast", None, 96, 96, "auto", 32, None)
    start, end = d.spans["train"]
    assert sra_decision(d.series.values[start:end], 0.6) == zoo.resolved_config("bimamba_plus")["token_axis"]
