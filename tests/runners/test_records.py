"""Record files: a file cut short is skipped with a warning naming it, and the run is done again; records are
shared like any file the user writes."""
import os

from runners.run.records import find_record, load_records, record_path, write_record


def test_a_record_cut_short_counts_as_no_record_and_a_new_run_replaces_it(tmp_path, capsys):
    path = record_path(tmp_path, "suite", "mqar/mamba/s0", "ab" * 32)
    path.parent.mkdir(parents=True)
    path.write_text('{"status": "ok", "config_hash": "' + "ab" * 32 + '", "metr')  # the disk filled up
    assert find_record(path.parent, "ab" * 32) is None
    assert f"skipped {path}, line 1: not a JSON record" in capsys.readouterr().err
    write_record(path, {"status": "ok", "config_hash": "ab" * 32, "metrics": {"test/acc": 1.0}})
    assert find_record(path.parent, "ab" * 32)["metrics"] == {"test/acc": 1.0}
    assert len(load_records(tmp_path)) == 1 and capsys.readouterr().err == ""


def test_records_are_created_with_the_users_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_record(tmp_path / "r.jsonl", {"status": "ok"})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
