"""Verdicts from records: a paired two-level bootstrap over seeds and test examples, and the reasons a claim
cannot be judged."""
import csv

import numpy as np
import pytest
import torch
import yaml

from runners.report import verdicts
from runners.run.records import record_path, write_record
from tasks import outcomes

N = 1000


def run(root, model, seed, hits, targets=None, suite="language", with_outcomes=True):
    """A finished run of `model` whose test/acc comes from the per-example `hits`."""
    name = f"copy/{model}/s{seed}"
    path = record_path(root, suite, name, f"{model}{seed}" + "0" * 12)
    rec = dict(suite=suite, task="copy", model=model, seed=seed, status="ok", run_name=name,
               config_hash=f"{model}{seed}", metrics={"test/acc": float(np.mean(hits))},
               metric_directions={"acc": "max"}, finished_at="2026-12-04T00:00:00")
    if with_outcomes:
        store = outcomes.Outcomes()
        store.add("test/acc", torch.tensor(hits, dtype=torch.float64), 1,
                  torch.arange(len(hits)) if targets is None else targets)
        outcomes.save(path.with_suffix(".npz"), store.arrays())
        rec["outcomes"] = path.with_suffix(".npz").name
    write_record(path, rec)


def claims(tmp_path, *items):
    pub = tmp_path / "published"
    pub.mkdir(exist_ok=True)
    base = dict(suite="language", task="copy", metric="test/acc", relation="better")
    (pub / "paper.yaml").write_text(yaml.safe_dump(dict(source="A paper, Table 1", task="copy", entries=[], claims=[
        dict(base, claim=f"claim {i}", **item) for i, item in enumerate(items)])))
    return pub


def hits(p, seed, n=N):
    return (np.random.default_rng(seed).random(n) < p).astype(float)


def test_a_clear_lead_is_reproduced_and_its_reverse_contradicted(tmp_path):
    records = tmp_path / "records"
    for s in range(3):
        run(records, "mamba", s, hits(0.9, s))
        run(records, "attn", s, hits(0.6, 10 + s))
    pub = claims(tmp_path, dict(id="fwd", a="mamba", b="attn"), dict(id="rev", a="attn", b="mamba"))
    found = {v.claim["id"]: v for v in verdicts.verdicts(records, pub)}
    assert found["fwd"].verdict == "reproduced" and found["fwd"].seeds == 3
    assert found["fwd"].low < found["fwd"].diff < found["fwd"].high and found["fwd"].low > 0.2
    assert found["rev"].verdict == "contradicted"


def test_pairing_sees_a_small_lead_on_the_same_examples():
    """b gets right exactly what a gets right, except 30 of 1000 examples: a 3-point lead that an unpaired
    interval (two binomial errors of about 1.4 points each) could not separate, but the pairs can."""
    base = hits(0.7, 0)
    wrong = np.flatnonzero(base == 0)[:30]
    better = base.copy()
    better[wrong] = 1
    one = lambda h: dict(num=h[:, None], den=np.ones((len(h), 1)))  # noqa: E731
    diff, low, high = verdicts.interval([one(better), one(better)], [one(base), one(base)], "ratio",
                                        np.random.default_rng(0))
    assert diff == pytest.approx(0.03)
    assert 0.015 < low < 0.03 < high < 0.045


def test_more_test_examples_narrow_the_interval(tmp_path):
    widths = []
    for n in (200, 3200):
        side = lambda p, s: [dict(num=hits(p, s + k, n)[:, None], den=np.ones((n, 1))) for k in range(3)]  # noqa: E731
        _, low, high = verdicts.interval(side(0.7, 0), side(0.7, 50), "ratio", np.random.default_rng(0))
        widths.append(high - low)
    assert 2.5 < widths[0] / widths[1] < 6  # about sqrt(16)


def test_within_noise_is_not_separable_and_a_margin_decides_matches(tmp_path):
    records = tmp_path / "records"
    for s in range(3):
        run(records, "mamba", s, hits(0.8, s))
        run(records, "attn", s, hits(0.8, 10 + s))
    pub = claims(tmp_path, dict(id="better", a="mamba", b="attn"),
                 dict(id="wide", a="mamba", b="attn", relation="matches", margin=0.1),
                 dict(id="tight", a="mamba", b="attn", relation="matches", margin=0.001))
    found = {v.claim["id"]: v.verdict for v in verdicts.verdicts(records, pub)}
    assert found == {"better": "not separable", "wide": "reproduced", "tight": "not separable"}


def test_what_cannot_be_judged_says_why(tmp_path):
    records = tmp_path / "records"
    for s in range(2):
        run(records, "mamba", s, hits(0.9, s))
        run(records, "old", s, hits(0.5, s), with_outcomes=False)
        run(records, "other_set", s, hits(0.5, s), targets=torch.arange(N) + 1)
    run(records, "once", 0, hits(0.5, 0))
    pub = claims(tmp_path, dict(id="no_outcomes", a="mamba", b="old"), dict(id="other", a="mamba", b="other_set"),
                 dict(id="one_seed", a="mamba", b="once"), dict(id="absent", a="mamba", b="nobody"),
                 dict(id="said", a="mamba", b="old", not_comparable="ImageNet top-1; we run MNIST"))
    found = {v.claim["id"]: v for v in verdicts.verdicts(records, pub)}
    assert all(v.verdict == "not comparable" for v in found.values())
    assert "no per-example outcomes" in found["no_outcomes"].reason
    assert "different test sets" in found["other"].reason
    assert "1 seed(s) in common" in found["one_seed"].reason
    assert "no finished run of nobody" in found["absent"].reason
    assert found["said"].reason == "ImageNet top-1; we run MNIST"


def test_the_csv_has_the_columns_and_a_bad_claim_is_refused(tmp_path):
    records = tmp_path / "records"
    for s in range(2):
        run(records, "mamba", s, hits(0.9, s))
        run(records, "attn", s, hits(0.5, s))
    out = tmp_path / "verdicts.csv"
    assert verdicts.main(["--records", str(records), "--published", str(claims(tmp_path, dict(id="x", a="mamba",
                          b="attn"))), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == verdicts.COLUMNS and rows[0]["verdict"] == "reproduced" and rows[0]["seeds"] == "2"
    bad = claims(tmp_path, dict(id="y", a="mamba", b="attn", relation="matches"))
    with pytest.raises(SystemExit, match="matches with a margin"):
        verdicts.read_claims(bad)


def test_a_where_selects_the_rows_of_the_model_that_has_the_setting(tmp_path):
    records = tmp_path / "records"
    for s in range(2):
        run(records, "gps", s, hits(0.5, s))
    for order, p in (("degree", 0.9), ("random", 0.2)):
        for s in range(2):
            name = f"copy/mamba/{order}/s{s}"
            path = record_path(records, "language", name, f"{order}{s}" + "0" * 12)
            store = outcomes.Outcomes()
            h = hits(p, s)
            store.add("test/acc", torch.tensor(h), 1, torch.arange(N))
            outcomes.save(path.with_suffix(".npz"), store.arrays())
            write_record(path, dict(suite="language", task="copy", model="mamba", seed=s, status="ok", run_name=name,
                                    config_hash=f"{order}{s}", model_config={"order": order},
                                    metrics={"test/acc": float(h.mean())}, outcomes=path.with_suffix(".npz").name,
                                    finished_at="2026-12-04T00:00:00"))
    pub = claims(tmp_path, dict(id="deg", a="mamba", b="gps", where={"model_config.order": "degree"}),
                 dict(id="any", a="mamba", b="gps"))
    found = {v.claim["id"]: v for v in verdicts.verdicts(records, pub)}
    assert found["deg"].verdict == "reproduced" and found["deg"].diff == pytest.approx(0.4, abs=0.05)
    assert "2 different configurations of mamba" in found["any"].reason


def test_the_report_writes_the_scorecard_and_the_csv(tmp_path):
    from runners.report.build import build_report
    records = tmp_path / "records"
    for s in range(2):
        run(records, "mamba", s, hits(0.9, s))
        run(records, "attn", s, hits(0.5, s))
    pub = claims(tmp_path, dict(id="x", a="mamba", b="attn"), dict(id="y", a="attn", b="mamba"))
    written = build_report(records, pub, tmp_path / "out")
    page = written["html"].read_text()
    assert "Scorecard" in page and "1 reproduced, 1 contradicted (of 2 claims" in page
    assert [r["claim"] for r in csv.DictReader(written["verdicts"].open())] == ["x", "y"]
