"""Run records: one JSON line per run, the source of truth every report is built from.

A record is written in one piece (a temporary file renamed into place), so a run that dies
leaves either a whole record or none, and parallel runs never interleave their lines.
Records live under `results/records/<suite>/<run name>-<config hash>.jsonl`.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

SCHEMA = 1
STATUSES = ("ok", "failed")
ACCURACY = re.compile(r"(^|[/_])acc(uracy)?(@\d+)?$")


def record_path(root: Path, suite: str, run_name: str, config_hash: str) -> Path:
    safe = run_name.replace("/", "-")
    return Path(root) / suite / f"{safe}-{config_hash[:12]}.jsonl"


def write_record(path: Path, record: dict) -> Path:
    """Write `record` as one JSON line at `path`, atomically."""
    if record.get("status") not in STATUSES:
        raise ValueError(f"record status must be one of {STATUSES}, got {record.get('status')!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(record, schema=SCHEMA), sort_keys=True, allow_nan=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")  # never matched as a record
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a record is shared like any file the user writes
        with os.fdopen(fd, "w") as f:
            f.write(line)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_records(root: Path, check=None) -> list[dict]:
    """Every record under `root` (recursively), in a stable order; see load_records_file."""
    return [rec for path in sorted(Path(root).rglob("*.jsonl")) for rec in load_records_file(path, check)]


def find_record(suite_dir: Path, config_hash: str) -> dict | None:
    """The record of the run with this config hash in one suite's folder, if one exists."""
    found = find_record_path(suite_dir, config_hash)
    return None if found is None else found[1]


def find_record_path(suite_dir: Path, config_hash: str) -> tuple[Path, dict] | None:
    """(file, record) of the run with this config hash in one suite's folder, if one exists."""
    for path in Path(suite_dir).glob(f"*-{config_hash[:12]}.jsonl"):
        for rec in load_records_file(path):
            if rec.get("config_hash") == config_hash:
                return path, rec
    return None


def load_records_file(path: Path, check=None) -> list[dict]:
    """The records in one file. A line that is not a JSON object (a file cut short by a full disk, or not
    ours), or one where `check(record)` names a problem, is skipped with a warning naming the file and line:
    one bad file costs its own runs and nothing else."""
    records = []
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        problem = "not a JSON record (cut short, or not a record)" if not isinstance(record, dict) else (
            check and check(record))
        if problem:
            print(f"warning: skipped {path}, line {number}: {problem}", file=sys.stderr)
        else:
            records.append(record)
    return records


def read_records(root: Path) -> list[dict]:
    return load_records(root, check=_problem) if root.exists() else []


def _problem(rec: dict) -> str | None:
    missing = [k for k in ("status", "task", "model") if k not in rec]
    if missing:
        return "missing " + ", ".join(missing)
    if rec["status"] not in STATUSES:
        return f"status {rec['status']!r} is not one of {STATUSES}"
    if not isinstance(rec.get("metrics") or {}, dict):
        return "metrics is not an object"
    return None


def is_accuracy(metric: str) -> bool:
    """Accuracies are fractions in the records and percentages in everything the report shows."""
    return bool(ACCURACY.search(metric))


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
