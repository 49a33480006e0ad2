"""The committed records against the code: a record's command, run again, is the run that wrote it (its config
hash), and every committed run ran its scans on the fast backend."""
import json
import shlex
from pathlib import Path

import pytest

from runners.run.config import compose
from runners.run.identity import config_hash

ROOT = Path(__file__).resolve().parents[2] / "results" / "records"
RECORDS = sorted(ROOT.rglob("*.jsonl"))


def _records():
    return [json.loads(line) for path in RECORDS for line in path.read_text().splitlines()]


def _one_per_pipeline():
    seen, picked = set(), []
    for rec in _records():
        if (rec["suite"], rec["pipeline"]) not in seen:
            seen.add((rec["suite"], rec["pipeline"]))
            picked.append(rec)
    return picked


def _recomposed(rec) -> str:
    args = shlex.split(rec["command"])
    assert args[:3] == ["python", "-m", "runners.train"]
    return config_hash(compose("train", args[3:] + [f"suite_name={rec['suite']}"]))


@pytest.mark.parametrize("rec", _one_per_pipeline(), ids=lambda r: f"{r['suite']}-{r['pipeline']}")
def test_a_records_command_gives_its_config_hash(rec):
    assert _recomposed(rec) == rec["config_hash"], f"{rec['run_name']}: `{rec['command']}` trains another run"


@pytest.mark.slow
def test_every_records_command_gives_its_config_hash():
    stale = [r["run_name"] for r in _records() if _recomposed(r) != r["config_hash"]]
    assert not stale


def test_no_committed_run_lists_a_scan_fallback():
    recs = _records()
    assert recs
    assert not [r["run_name"] for r in recs if r.get("scan_fallbacks")]
