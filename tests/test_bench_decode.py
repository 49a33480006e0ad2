"""The decoding benchmark: a row per model, batch and length, the SSMs' state fixed and the KV cache growing
by 2 x d_model floats per attention block and token."""
import csv

from runners.bench import decode as bench_decode


def test_rows_and_the_state_each_model_carries(tmp_path):
    out = tmp_path / "decode.csv"
    assert bench_decode.main(["--lengths", "4,12", "--batches", "1,2", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {(r["model"], r["batch"], r["length"]) for r in rows} == {
        (m, b, n) for m in ("mamba", "mamba2", "transformerpp") for b in ("1", "2") for n in ("4", "12")}
    state = {(r["model"], r["length"]): int(r["state_bytes_per_sequence"]) for r in rows if r["batch"] == "2"}
    assert state["mamba", "4"] == state["mamba", "12"] and state["mamba2", "4"] == state["mamba2", "12"]
    assert state["transformerpp", "12"] - state["transformerpp", "4"] == 8 * 2 * 2 * 64 * 4  # 2 blocks, float32
    assert all(float(r["tokens_per_s"]) > 0 for r in rows)
    assert (tmp_path / "decode_tokens.svg").exists() and (tmp_path / "decode_state.svg").exists()
