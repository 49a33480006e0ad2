"""Recommendation data and task: MovieLens read from a wheel-shaped zip and from ML-1M's `::` file, the
filter and leave-one-out split and the training windows checked by hand, full-ranking metrics by hand, the
plan's shapes, and a two-step run of every model through runners.run.train."""
import math
import zipfile

import numpy as np
import pytest
import torch

import zoo
from runners.run import train
from runners.run.config import compose
from tasks.kinds import kind_for, resolve_data
from tasks.recommendation import movielens as ml
from tasks.recommendation.ranking import at_k, ranks
from tasks.recommendation.sequences import filter_counts, leave_one_out, user_sequences, windows

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def inter_text(rows) -> str:
    return HEADER + "".join(f"{u}\t{i}\t3\t{t}\n" for u, i, t in rows)


def write_wheel(folder, rows):
    """A zip laid out as the RecBole wheel, holding only the member the loader reads."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / ml.WHEEL, "w") as z:
        z.writestr(ml.MEMBER, inter_text(rows))
        z.writestr("recbole/__init__.py", "")


def dense_rows(n_users=12, n_items=9, per_user=8, seed=0):
    """Every user rates `per_user` distinct items at increasing times: all pass the 5-interaction filter."""
    rng = np.random.default_rng(seed)
    return [(u, int(i), 1000 * u + t) for u in range(1, n_users + 1)
            for t, i in enumerate(rng.choice(np.arange(1, n_items + 1), per_user, replace=False))]


def test_short_users_and_items_are_dropped_until_none_is_left():
    # at least 3: item 4 has 2 interactions (users 4 and 5) and goes; that leaves user 4 with 2, so user 4 goes
    # in the next pass (a single pass would keep them); user 5 keeps 3 and stays
    rows = {1: [1, 2, 3], 2: [1, 2, 3], 3: [1, 2, 3], 4: [1, 2, 4], 5: [4, 1, 2, 3]}
    users = np.array([u for u, items in rows.items() for _ in items])
    items = np.array([i for items in rows.values() for i in items])
    keep = filter_counts(users, items, 3)
    assert keep.tolist() == [True] * 9 + [False] * 3 + [False, True, True, True]
    assert filter_counts(users, items, 2).all()


def test_sequences_are_in_time_order_with_ties_in_file_order_and_items_renumbered():
    # three users rate items 10, 30 and 40; user 7's two rows at time 5 are 40 then 30 in the file, user 9's
    # two at time 4 are 10 then 40
    rows = [(7, 40, 5), (7, 30, 5), (3, 40, 2), (7, 10, 1), (3, 10, 1), (3, 30, 3), (9, 30, 0), (9, 10, 4),
            (9, 40, 4)]
    users, items, times = (np.array(c) for c in zip(*rows))
    sequences, n_items = user_sequences(users, items, times, least=3)
    # ids by first appearance in the file: 40 -> 1, 30 -> 2, 10 -> 3; users by id: 3, 7, 9
    assert n_items == 4
    assert [s.tolist() for s in sequences] == [[3, 1, 2], [3, 1, 2], [2, 3, 1]]


def test_leave_one_out_holds_out_the_last_two_items_and_windows_train_every_target_once():
    # three users with the same 9 items in time order (ids 1..9 after renumbering), read 4 at a time
    def split(n, max_len):
        users, items = np.repeat([1, 2, 3], n), np.tile(np.arange(101, 101 + n), 3)
        return leave_one_out(users, items, np.arange(3 * n), max_len=max_len, least=3)
    nine = split(9, 4)
    (val_h, val_n, val_t), (test_h, test_n, test_t) = nine.val, nine.test
    assert val_t.tolist() == [8] * 3 and val_h[0].tolist() == [4, 5, 6, 7] and val_n.tolist() == [4] * 3
    assert test_t.tolist() == [9] * 3 and test_h[0].tolist() == [5, 6, 7, 8] and test_n.tolist() == [4] * 3
    x, y = nine.train  # each training sequence is 1..7: targets 2..7
    assert x[:2].tolist() == [[1, 2, 3, 4], [3, 4, 5, 6]] and len(x) == 6
    assert y[:2].tolist() == [[2, 3, 4, 5], [0, 0, 6, 7]]  # the second window's first half is context only
    assert sorted(y[:2][y[:2] > 0].tolist()) == [2, 3, 4, 5, 6, 7]
    assert (nine.n_items, nine.n_users, nine.n_interactions) == (10, 3, 27)
    # a short history is right-padded
    short = split(4, 4)
    assert short.val[0][0].tolist() == [1, 2, 0, 0] and short.val[1][0] == 2
    assert short.train[0][0].tolist() == [1, 0, 0, 0] and short.train[1][0].tolist() == [2, 0, 0, 0]


@pytest.mark.parametrize("n,max_len", [(2, 4), (5, 4), (17, 4), (40, 7), (100, 50)])
def test_windows_cover_each_target_once_with_half_a_window_of_context(n, max_len):
    seq = np.arange(1, n + 1)
    x, y = windows(seq, max_len)
    trained = y[y > 0]
    assert sorted(trained.tolist()) == list(range(2, n + 1))
    for row_x, row_y in zip(x, y):
        for j in np.flatnonzero(row_y):
            assert row_y[j] == row_x[j] + 1  # predicts the next item
    for row_y in y[1:]:  # after the first window, at least max_len // 2 items of context
        assert np.flatnonzero(row_y)[0] >= max_len // 2


def test_bad_settings_fail_in_one_line():
    with pytest.raises(ValueError, match="data.min_interactions"):
        user_sequences(np.ones(3, np.int64), np.arange(3), np.arange(3), least=2)
    with pytest.raises(ValueError, match="data.max_len"):
        leave_one_out(np.ones(5, np.int64), np.arange(5), np.arange(5), max_len=1)
    with pytest.raises(ValueError, match="no user and item are left"):
        user_sequences(np.ones(3, np.int64), np.arange(3), np.arange(3), least=5)


def test_full_ranking_metrics_by_hand():
    scores = torch.tensor([[9.0, 0.5, 0.9, 0.1, 0.7],    # target 2 (0.9): first among items 1-4 -> rank 0
                           [9.0, 0.5, 0.9, 0.1, 0.7],    # target 1 (0.5): below 0.9 and 0.7 -> rank 2
                           [0.0, 0.3, 0.3, 0.3, 0.3]])   # target 4: ties count ahead -> rank 3
    rank = ranks(scores, torch.tensor([2, 1, 4]))
    assert rank.tolist() == [0, 2, 3]  # column 0, the padding, is never ranked (its 9.0 counts for nothing)
    at3 = at_k(rank, k=3)
    assert at3["hr"].tolist() == [1, 1, 0]
    assert at3["ndcg"].tolist() == pytest.approx([1, 1 / math.log2(4), 0])
    assert at3["mrr"].tolist() == pytest.approx([1, 1 / 3, 0])
    # a model whose score for the target is NaN has not ranked it: after every item, no hit
    broken = scores.clone()
    broken[0, 2] = float("nan")
    assert ranks(broken, torch.tensor([2, 1, 4])).tolist() == [4, 2, 3]
    assert at_k(ranks(broken, torch.tensor([2, 1, 4])), k=3)["hr"].tolist() == [0, 1, 0]


def test_the_wheel_is_read_as_a_zip_and_converted_once(tmp_path):
    rows = [(5, 50, 3), (5, 60, 1), (6, 50, 2)]
    write_wheel(tmp_path / "movielens", rows)
    users, items, times = ml.interactions(None, tmp_path)
    assert users.tolist() == [5, 5, 6] and items.tolist() == [50, 60, 50] and times.tolist() == [3, 1, 2]
    (tmp_path / "movielens" / ml.WHEEL).unlink()  # the converted copy is read from now on
    assert ml.interactions(None, tmp_path)[1].tolist() == [50, 60, 50]


def test_a_missing_wheel_is_one_line_naming_the_download(tmp_path, monkeypatch):
    monkeypatch.setattr(ml, "WHEELS", tmp_path / "nowhere")
    line = ml.missing(None, tmp_path)
    assert "\n" not in line and "pip download --no-deps recbole==1.2.1" in line
    with pytest.raises(ml.DataMissing, match="pip download"):
        ml.interactions(None, tmp_path)
    planned = kind_for("movielens").plan(resolve_data({"task": "movielens"}), str(tmp_path))
    assert planned.missing == line and planned.io == dict(n_items=1683, max_len=50)  # the release's items + 0
    (tmp_path / "movielens").mkdir()
    (tmp_path / "movielens" / ml.WHEEL).write_bytes(b"not a zip")
    with pytest.raises(ml.DataMissing, match="not a RecBole 1.2.1 wheel"):
        ml.interactions(None, tmp_path)


def test_ml1m_ratings_dat_is_read_from_data_path(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    users, items, times = ml.interactions(folder, tmp_path / "cache")
    assert users.tolist() == [1, 1, 2] and items.tolist() == [1193, 661, 1193] and times[1] == 978302109
    (folder / "ratings.dat").write_text("1,1193,5,978300760\n")
    with pytest.raises(ValueError, match="ratings.dat:1: expected UserID::MovieID::Rating::Timestamp"):
        ml.read_ratings_dat((folder / "ratings.dat").read_text())
    assert "no ratings.dat there" in ml.missing(tmp_path / "empty", tmp_path)
    assert kind_for("movielens").task_name(resolve_data({"task": "movielens", "path": str(folder)})) == "ml1m"


def test_the_plan_has_the_shapes_a_run_builds(tmp_path):
    write_wheel(tmp_path / "movielens", dense_rows())
    cfg = compose("train", ["pipeline=movielens", "model.name=sasrec", "data.max_len=6", f"data_root={tmp_path}"])
    planned = kind_for("movielens").plan(resolve_data(dict(cfg.data)), str(tmp_path))
    built = train.prepare(cfg)
    assert planned.io == built.io == dict(n_items=10, max_len=6) and planned.missing is None
    assert planned.example(3)[0].shape == (3, 6) and built.name == "ml100k"
    model = zoo.create_model("mamba4rec", **planned.io, d_model=16)
    with torch.device("meta"):
        assert model.to("meta")(*planned.example(2)).shape == (2, 6, 10)


@pytest.mark.parametrize("name", zoo.list_models(domain="recommendation"))
def test_every_model_trains_two_steps_end_to_end(tmp_path, name):
    write_wheel(tmp_path / "movielens", dense_rows())
    overrides = ["pipeline=movielens", f"model.name={name}", "trainer.max_steps=2", "trainer.val_every_steps=2",
                 "trainer.progress_bar=false", "logger=none", "data.batch_size=4", "data.max_len=6",
                 "model.d_model=16"]
    rec = train.run(compose("train", [*overrides, f"results_dir={tmp_path}", f"data_root={tmp_path}"]), overrides)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["primary_metric"] == "test/ndcg@10" and rec["throughput_unit"] == "interactions"
    metrics = rec["metrics"]
    assert all(0 <= metrics[f"test/{m}@10"] <= 1 for m in ("hr", "ndcg", "mrr"))
    assert metrics["test/mrr@10"] <= metrics["test/ndcg@10"] <= metrics["test/hr@10"]
    assert rec["data"]["n_users"] == 12 and rec["data"]["n_test"] == 12
    assert rec["metric_directions"] == {"hr": "max", "ndcg": "max", "mrr": "max", "loss": "min"}
