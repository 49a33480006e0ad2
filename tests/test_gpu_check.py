"""The GPU check's parts that run anywhere: which scan-core calls the mixers make, the kernels' error table,
and a step that runs out of time being recorded and packed rather than losing the others."""
import csv
import json
import sys
import tarfile

import pytest

from runners.bench import gpu_check
from runners.bench import kernel_errors
from zoo.layers import MIXERS


def test_every_scan_calling_mixer_is_recorded_with_its_own_combination():
    calls = kernel_errors.recorded_calls(kernel_errors.mixers())
    made = {name: key for key, entry in calls.items() for name in entry["mixers"]}
    # every mixer of the registry that is not attention calls the scan core, so a new one is covered
    assert {cls.__name__ for code, cls in MIXERS.items() if code != "A"} <= set(made)
    layouts = {name: key[1] for name, key in made.items()}
    assert layouts["S4DMixer"] == "time-invariant" and layouts["Mamba1Mixer"] == "one group"
    assert layouts["MultiScanMamba(bidirectional, direction_embedding)"] == "a group per walk"
    assert made["Mamba2Mixer"][0] == "ssd"
    # Mamba+'s forget gate applies D and z itself: a call without them, a kernel of its own
    assert made["Mamba1Mixer(forget_gate)"] != made["Mamba1Mixer"]
    assert "z" not in kernel_errors._describe(made["Mamba1Mixer(forget_gate)"]).split()


@pytest.mark.triton
def test_the_error_table_has_a_row_per_combination_dtype_and_quantity(tmp_path):
    out = tmp_path / "errors.csv"
    assert kernel_errors.main(["--device", "cpu", "--size", "small", "--dtypes", "float32", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    combos = {(r["op"], r["combination"]) for r in rows}
    assert len(combos) == len(kernel_errors.recorded_calls(kernel_errors.mixers()))
    for op, combo in combos:
        quantities = {r["quantity"] for r in rows if (r["op"], r["combination"]) == (op, combo)}
        assert {"out", "state", "grad A", "grad B", "grad C"} <= quantities
    assert all(float(r["tol_ratio"]) <= 1 and r["within_tolerance"] == "True" for r in rows)


def test_a_step_out_of_time_is_recorded_and_the_rest_is_packed(tmp_path):
    out, pack = tmp_path / "check", tmp_path / "check.tar.gz"
    out.mkdir()
    summary = {"steps": {}}
    slow = dict(argv=[sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"], timeout=2)
    quick = dict(argv=[sys.executable, "-c", "raise SystemExit(3)"], timeout=10)
    for name, spec in (("slow", slow), ("quick", quick)):
        gpu_check.finish(name, gpu_check.run_step(name, spec, out), spec, summary)
        gpu_check.save(summary, out, pack)
    assert summary["steps"]["slow"]["status"] == "timed out after 2 s"
    assert summary["steps"]["quick"]["status"] == "failed (exit 3)"
    assert (out / "slow.log").read_text().strip() == "started"
    with tarfile.open(pack) as tar:
        packed = json.load(tar.extractfile("check/summary.json"))
    assert packed["steps"].keys() == {"slow", "quick"}


def test_without_a_gpu_the_check_refuses_unless_dry_run(tmp_path):
    if gpu_check.torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    with pytest.raises(SystemExit, match="no CUDA device"):
        gpu_check.main(["--out", str(tmp_path)])


def test_an_unknown_step_is_named(tmp_path):
    with pytest.raises(SystemExit, match="unknown step.*'bnch'"):
        gpu_check.main(["--dry-run", "--out", str(tmp_path), "--steps", "bnch"])
