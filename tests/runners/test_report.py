"""The leaderboard report: statistics over seeds, failed runs kept apart, the papers' numbers labelled,
one self-contained page with its plots, and clear errors on bad input."""
import hashlib
import re
import statistics

import pytest
import yaml

from runners.run.records import record_path, write_record
from runners.report.build import build_report, main

TAX = {"mamba": {"domain": "language", "section": "Mamba-1 (selective SSM)", "mechanism": "selective scan (S6)",
                 "paper": "Gu & Dao, Mamba", "year": 2023},
       "transformer": {"domain": "language", "section": "baselines", "mechanism": "softmax attention",
                       "paper": "Vaswani et al.", "year": 2017},
       "s4d": {"domain": "language", "section": "baselines", "mechanism": "LTI SSM", "paper": "Gu et al., S4D",
               "year": 2022}}
LENGTHS = (64, 128, 256, 512)
# (model, seed) -> accuracy at each evaluation length; deliberately uneven so a wrong mean or std shows
INDUCTION = {("mamba", 0): (1.0, 0.99, 0.97, 0.9), ("mamba", 1): (0.98, 0.95, 0.8, 0.6),
             ("transformer", 0): (0.99, 0.4, 0.1, 0.05), ("transformer", 1): (0.97, 0.3, 0.12, 0.07),
             ("s4d", 0): (0.3, 0.2, 0.1, 0.1), ("s4d", 1): (0.35, 0.1, 0.05, 0.0)}
MQAR = {("mamba", 32, 0): 0.61, ("mamba", 32, 1): 0.55, ("mamba", 64, 0): 0.83, ("mamba", 64, 1): 0.9,
        ("transformer", 32, 0): 0.99, ("transformer", 32, 1): 1.0, ("transformer", 64, 0): 1.0,
        ("transformer", 64, 1): 0.98}
COPYING = {("mamba", 0): 0.97, ("mamba", 1): 0.99, ("transformer", 0): 0.62,
           ("s4d", 0): 0.18, ("s4d", 1): 0.22}


def record(task, model, seed, metrics, status="ok", suite="language", config=None, data=None, finished="05:00",
           **extra):
    config = config or {"d_model": 64}
    rec = {"status": status, "suite": suite, "run_name": f"{task}/{model}/s{seed}", "task": task, "pipeline": task,
           "data": data or {"seq_len": 64}, "model": model, "model_config": config, "taxonomy": TAX.get(model, {}),
           "seed": seed, "metrics": metrics, "primary_metric": "test/acc", "params": 74560,
           "state_size": 68 * config["d_model"], "tokens_per_s": 18230.5, "peak_mem_mb": 512.3,
           "scan_backend": {"selective_scan": {"chunked": 420}}, "device": "cpu: test CPU (2 threads)",
           "git_commit": "1ac47cc",
           "config_hash": hashlib.sha1(f"{suite} {task} {model} {config} {data} {seed}".encode()).hexdigest(),
           "command": f"python -m runners.train pipeline={task} model={model} seed={seed}",
           "finished_at": f"2026-11-24T{finished}:00Z"}
    return dict(rec, **extra)


def write(root, rec):
    return write_record(record_path(root, rec["suite"], rec["run_name"], rec["config_hash"]), rec)


def write_fixtures(root, published):
    for (model, seed), accs in INDUCTION.items():
        metrics = {f"test/acc@{n}": a for n, a in zip(LENGTHS, accs)}
        write(root, record("induction_heads", model, seed, dict(metrics, **{"test/acc": accs[0], "train/loss": 0.3}),
                           data={"seq_len": 64, "eval_lengths": list(LENGTHS)}))
    for (model, width, seed), acc in MQAR.items():
        write(root, record("mqar", model, seed, {"test/acc": acc}, config={"d_model": width}))
    for (model, seed), acc in COPYING.items():
        write(root, record("selective_copying", model, seed, {"test/acc": acc}))
    # a failed run whose partial metric would drag the transformer's mean down if it were averaged in
    write(root, record("selective_copying", "transformer", 1, {"test/acc": 0.0}, status="failed",
                       error="RuntimeError: CUDA out of memory\nTraceback ..."))
    # an older record of the same config hash (written before `data` gained a key): superseded by the newer one
    old = record("selective_copying", "s4d", 0, {"test/acc": 0.01}, finished="01:00",
                 config_hash=record("selective_copying", "s4d", 0, {})["config_hash"], data={"seq_len": 64, "v": 1})
    write_record(root / "older" / "s4d.jsonl", old)
    # a task and a model the report has never heard of
    write(root, record("weird_task", "newnet", 0, {"test/mse": 0.125}, suite="misc", primary_metric="test/mse"))

    published.mkdir()
    (published / "copying.yaml").write_text(yaml.safe_dump({
        "source": "Gu & Dao, Mamba (arXiv:2312.00752, 2023), Table 1", "url": "https://arxiv.org/abs/2312.00752",
        "task": "selective_copying", "metric": "test/acc", "unit": "percent", "scale": "seq_len 4096, vocab 16",
        "entries": [{"paper_model": "Mamba (S6)", "ours": "mamba", "value": 99.8},
                    {"paper_model": "H3", "ours": None, "value": 57.0}]}))
    (published / "induction.yaml").write_text(yaml.safe_dump({
        "source": "Gu & Dao, Mamba, Table 11", "task": "induction_heads", "metric": "test/acc", "unit": "percent",
        "scale": "trained at length 256", "entries": [{"paper_model": "Mamba", "ours": "mamba",
                                                       "values": {64: 100.0, 128: 100.0, 256: 100.0, 512: 99.5}}]}))
    (published / "mqar.yaml").write_text(yaml.safe_dump({
        "source": "Arora et al., Zoology (2023)", "task": "mqar", "metric": "test/acc", "unit": "percent",
        "scale": "d_model 64-512", "entries": [], "findings": ["attention solves MQAR at every width"],
        "related": [{"source": "Dao & Gu, Mamba-2, Figure 8", "scale": "seq_len 256-1024", "entries": []}],
        "notes": ["no number is read off a plot"]}))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    write_fixtures(root / "records", root / "published")
    written = build_report(root / "records", root / "published", root / "out")
    return written, written["markdown"].read_text(), written["html"].read_text()


def table(md, task, nth=0):
    """The nth Markdown table under a task's heading, as a list of {column: cell}."""
    section = md.split(f"### Task `{task}`", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    tables = re.findall(r"((?:^\|.*\|$\n?)+)", section, flags=re.M)
    lines = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in tables[nth].strip().splitlines()]
    return [dict(zip(lines[0], cells)) for cells in lines[2:]]


def pm(values):
    return f"{100 * statistics.mean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def test_mean_and_std_over_seeds(report):
    _, md, _ = report
    rows = {r["model"]: r for r in table(md, "induction_heads")}
    assert set(rows) == {"mamba", "transformer", "s4d"}
    for model, row in rows.items():
        for i, n in enumerate(LENGTHS):
            assert row[f"test/acc@{n} (%)"].strip("*") == pm([INDUCTION[model, s][i] for s in (0, 1)])  # bold: see below
        assert row["seeds"] == "2"
        assert row["train/loss"] == "0.3 ± 0"
    # ranked by the primary metric
    assert [r["model"] for r in table(md, "induction_heads")] == ["mamba", "transformer", "s4d"]


@pytest.mark.parametrize("mean, std, shown", [
    (0.37884, 0.004651, "0.3788 ± 0.0047"),   # std to two significant digits, the mean to the same place
    (3.0203, 0.01805, "3.020 ± 0.018"),       # trailing zeros kept: they are digits the seeds agree on
    (0.84761, 0.1049, "0.85 ± 0.10"),
    (0.475, 0.0007839, "0.47500 ± 0.00078"),
    (12345.6, 123.4, "12346 ± 123"),          # never fewer digits than the integer part
    (0.386, 9.9e-6, "0.386000 ± <1e-5"),      # at most six decimals
    (0.386, 4.9e-5, "0.386000 ± 0.000049"),
    (0.3, 0.0, "0.3 ± 0"),
    (0.125, None, "0.125 ± —"),               # one seed
])
def test_a_metric_is_written_to_the_precision_its_seeds_support(mean, std, shown):
    from runners.report.cells import fmt_stat
    assert fmt_stat((mean, std, 2), False, 2) == shown
    assert fmt_stat((mean, std, 1), False, 2) == shown + " (n=1)"


def test_two_widths_are_two_rows(report):
    _, md, _ = report
    rows = {(r["model"], r["config"]): r for r in table(md, "mqar")}
    assert set(rows) == {(m, f"d_model={w}") for m in ("mamba", "transformer") for w in (32, 64)}
    for (model, cfg), row in rows.items():
        width = int(cfg.split("=")[1])
        assert row["test/acc (%)"] == pm([MQAR[model, width, s] for s in (0, 1)])
        assert row["state size"] == f"{68 * width:,}"


def test_failed_run_is_listed_and_not_averaged(report):
    _, md, _ = report
    rows = {r["model"]: r for r in table(md, "selective_copying")}
    assert rows["transformer"]["test/acc (%)"] == "62.0 ± —"
    assert rows["transformer"]["seeds"] == "1 (+1 failed)"
    failed = md.split("## Failed runs", 1)[1].split("\n## ", 1)[0]
    assert "RuntimeError: CUDA out of memory" in failed and "Traceback" not in failed
    assert "| selective_copying | transformer | 1 |" in failed


def test_duplicate_config_hash_keeps_the_newest(report):
    _, md, _ = report
    [s4d] = [r for r in table(md, "selective_copying") if r["model"] == "s4d"]
    assert s4d["test/acc (%)"] == pm([0.18, 0.22])
    assert "1 superseded" in md


def test_published_numbers_beside_ours_and_labelled(report):
    _, md, _ = report
    rows = {r["model"]: r for r in table(md, "selective_copying")}
    paper_col = next(c for c in rows["mamba"] if "paper" in c)
    assert rows["mamba"][paper_col] == "99.8" and rows["s4d"][paper_col] == "—"
    section = md.split("### Task `selective_copying`", 1)[1].split("\n## ", 1)[0]
    assert "the paper's numbers, not ours" in section
    assert "Table 1" in section and "seq_len 4096, vocab 16" in section
    paper_table = table(md, "selective_copying", 1)
    assert {"paper's model": "H3", "our model": "—", "paper's test/acc (percent)": "57"} in paper_table
    mqar = md.split("### Task `mqar`", 1)[1].split("\n### ", 1)[0]
    assert "attention solves MQAR at every width" in mqar and "- note: no number is read off a plot" in mqar
    assert ("**paper [2] — the paper's numbers, not ours.** Dao & Gu, Mamba-2, Figure 8. "
            "Measured at: seq_len 256-1024") in mqar


def test_every_row_says_how_to_reproduce_it(report):
    _, md, _ = report
    for task in ("induction_heads", "mqar", "selective_copying"):
        for row in table(md, task):
            seeds = "0" if row["seeds"] == "1 (+1 failed)" else "0,1"
            assert re.fullmatch(rf"`python -m runners\.train pipeline={task} model={row['model']} seed=\d` "
                                rf"\(seeds: {seeds}\)", row["reproduce"]), row["reproduce"]


def test_unknown_task_and_model_get_a_row(report):
    _, md, _ = report
    assert "## Suite `misc`" in md
    [row] = table(md, "weird_task")
    assert row["model"] == "newnet" and row["test/mse"] == "0.125 ± —" and row["seeds"] == "1"


def test_header_and_taxonomy(report):
    _, md, _ = report
    assert "cpu: test CPU (2 threads)" in md and "1ac47cc" in md
    taxonomy = md.split("## Taxonomy", 1)[1]
    assert "| mamba | language | Mamba-1 (selective SSM) | selective scan (S6) | Gu & Dao, Mamba | 2023 |" in taxonomy
    assert "| newnet | — |" in taxonomy


def test_plots_are_files_and_inline_in_one_self_contained_page(report):
    written, md, page = report
    names = {p.name for p in written["plots"]}
    assert names == {"language--induction_heads--length.svg", "language--mqar--state_size.svg",
                     "language--selective_copying--bars.svg", "misc--weird_task--bars.svg"}
    assert all(p.stat().st_size > 1000 for p in written["plots"])
    length_svg = next(p for p in written["plots"] if "length" in p.name).read_text()
    assert "training length" in length_svg and "paper: Mamba" in length_svg
    assert "paper's value" in (written["plots"][0].parent / "language--selective_copying--bars.svg").read_text()
    for html in (page, written["details"].read_text()):  # the front page and the details page
        assert html.count("<svg") == 4 and "<?xml" not in html
        # one script, the page's own sorting, inline; nothing loaded from anywhere
        assert re.findall(r"<script[^>]*>", html, flags=re.I) == ["<script>"]
        assert not re.search(r"<link|<img|<iframe|url\(\s*['\"]?(https?:)?//", html, flags=re.I)
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), "the inline plots share element ids"
        assert set(re.findall(r'(?:url\(#|href="#)([^)"]+)', html)) <= set(ids)
        assert pm([0.97, 0.99]) in html and "make reproduce" not in html
    assert all(f"](plots/{n})" in md for n in names)


def test_empty_records_still_write_pages(tmp_path):
    written = build_report(tmp_path / "none", tmp_path / "none", tmp_path / "out")
    assert "No records yet — run `make reproduce`" in written["markdown"].read_text()
    assert "No records yet — run <code>make reproduce</code>" in written["html"].read_text()
    assert written["plots"] == []


def test_a_task_whose_kind_plots_it_against_state_size_gets_that_plot_whatever_its_name(tmp_path):
    for model, acc in (("mamba", 0.9), ("transformerpp", 0.5)):
        write(tmp_path / "r", dict(record("recall_x", model, 0, {"test/acc": acc}), versus="state_size"))
    write(tmp_path / "r", record("copy_x", "mamba", 0, {"test/acc": 0.5}))
    written = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")
    assert {p.name for p in written["plots"]} == {"language--recall_x--state_size.svg", "language--copy_x--bars.svg"}


def test_a_benchmark_plot_comes_with_the_summary_written_beside_it(tmp_path):
    bench = tmp_path / "out" / "benchmarks"
    bench.mkdir(parents=True)
    for stem in ("scaling_x_cpu", "decode_cpu"):
        (bench / f"{stem}.svg").write_text("<svg/>")
    (bench / "scaling_x_cpu_summary.csv").write_text("pair,mamba_exponent\nm,1.07\nn,\n")
    written = build_report(tmp_path / "none", tmp_path / "none", tmp_path / "out")
    details = written["details"].read_text()
    assert "scaling_x_cpu_summary.csv" in details and "<td>1.07</td>" in details and "<td>—</td>" in details
    assert details.count("<table") == 1  # decode_cpu.svg has no summary beside it


def test_stale_plots_are_removed(tmp_path):
    (tmp_path / "out" / "plots").mkdir(parents=True)
    (tmp_path / "out" / "plots" / "old.svg").write_text("<svg/>")
    build_report(tmp_path / "none", tmp_path / "none", tmp_path / "out")
    assert not (tmp_path / "out" / "plots" / "old.svg").exists()


def test_a_malformed_record_is_skipped_with_a_warning_naming_file_and_line(tmp_path, capsys):
    write(tmp_path, record("mqar", "mamba", 0, {"test/acc": 0.5}))
    bad = tmp_path / "language" / "broken.jsonl"
    bad.write_text('{"status": "ok", "suite": "language", "task": "mqar", "model": "x", '
                   '"metrics": {"test/acc": 0.9}}\n{"status": "ok", "task": \n')  # the second line is cut short
    foreign = tmp_path / "language" / "foreign.jsonl"
    foreign.write_text('{"status": "ok", "model": "y"}\n[1, 2]\n<html>\n')
    build_report(tmp_path, tmp_path / "none", tmp_path / "out")
    err = capsys.readouterr().err
    assert f"skipped {bad}, line 2: not a JSON record" in err
    assert f"skipped {foreign}, line 1: missing task" in err
    assert f"{foreign}, line 2: not a JSON record" in err and f"{foreign}, line 3: not a JSON record" in err
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert {row["model"] for row in table(md, "mqar")} == {"mamba", "x"}  # every good line is kept


def test_a_model_name_with_markup_shows_as_text_in_the_page(tmp_path):
    write(tmp_path, record("mqar", "<script>alert(1)</script>", 0, {"test/acc": 0.5}))
    page = build_report(tmp_path, tmp_path / "none", tmp_path / "out")["html"].read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unwritable_output_is_one_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit, match=re.escape(str(blocker))):
        build_report(tmp_path / "none", tmp_path / "none", blocker / "out")


def test_cli(tmp_path, capsys):
    write(tmp_path / "records", record("mqar", "mamba", 0, {"test/acc": 0.5}))
    main(["--records", str(tmp_path / "records"), "--published", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert "50.0 ± —" in (tmp_path / "leaderboard.md").read_text()
    assert "1 plots" in capsys.readouterr().out


def test_a_task_whose_runs_all_failed(tmp_path):
    write(tmp_path / "r", record("mqar", "mamba", 0, {}, status="failed", error="ValueError: bad shape"))
    written = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")
    md = written["markdown"].read_text()
    assert "No finished runs yet; see Failed runs." in md and "ValueError: bad shape" in md
    assert written["plots"] == []


def test_malformed_published_file_names_it(tmp_path):
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "bad.yaml").write_text("source: x\nentries: [1, 2]\n")
    with pytest.raises(SystemExit, match=r"bad\.yaml needs `source`, `task`"):
        build_report(tmp_path / "none", tmp_path / "pub", tmp_path / "out")


def test_a_rerun_of_the_same_run_replaces_it(tmp_path):
    """Same suite, task, model, config, data and seed under another config hash: the same run, newest wins."""
    write(tmp_path / "r", record("mqar", "mamba", 0, {"test/acc": 0.2}, finished="01:00"))
    write(tmp_path / "r", record("mqar", "mamba", 0, {"test/acc": 0.6}, finished="02:00", config_hash="f" * 40))
    md = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")["markdown"].read_text()
    [row] = table(md, "mqar")
    assert row["test/acc (%)"] == "60.0 ± —" and row["seeds"] == "1"


def test_runs_under_different_protocols_are_separate_rows(tmp_path):
    """Same model, config, data and seed trained with another learning rate: another row, never averaged."""
    slow = {"optim": {"lr": 1e-3}, "trainer": {"max_steps": 300}}
    fast = {"optim": {"lr": 3e-3}, "trainer": {"max_steps": 300}}
    write(tmp_path / "r", record("mqar", "mamba", 0, {"test/acc": 0.2}, protocol=slow))
    write(tmp_path / "r", record("mqar", "mamba", 0, {"test/acc": 0.6}, protocol=fast, config_hash="e" * 40))
    md = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")["markdown"].read_text()
    rows = table(md, "mqar")
    assert sorted(r["test/acc (%)"] for r in rows) == ["20.0 ± —", "60.0 ± —"]  # one seed, no n_test: no bold
    assert any("optim.lr=0.003" in " ".join(r.values()) for r in rows)


def test_a_task_trained_until_solved_shows_the_steps_each_seed_took(tmp_path):
    solved = {"trainer": {"max_steps": 3000, "solved_at": 0.99}}
    for model, seed, steps in [("mamba", 1, 500), ("mamba", 0, 250), ("s4d", 0, 3000)]:
        write(tmp_path / "r", record("copying", model, seed, {"test/acc": 0.9}, protocol=solved, steps=steps))
    write(tmp_path / "r", record("mqar", "mamba", 0, {"test/acc": 0.5}, protocol={"trainer": {"max_steps": 750}}))
    md = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")["markdown"].read_text()
    assert {r["model"]: r["steps"] for r in table(md, "copying")} == {"mamba": "250, 500", "s4d": "3,000"}
    assert "steps" not in table(md, "mqar")[0]  # a fixed budget needs no column


def tuned(model, lr, seed, val, test, suite="tuned"):
    spec = {"key": "optim.lr", "values": [0.001, 0.003], "metric": "val/acc", "mode": "max", "seeds": [0]}
    return record("mqar", model, seed, {"val/acc": val, "test/acc": test}, suite=suite, tuning=spec,
                  protocol={"optim": {"lr": lr, "weight_decay": 0.1}}, config_hash=f"{lr}-{seed}-{model}",
                  data={"n_test": 512})


def test_a_tuned_row_shows_the_rate_chosen_on_validation_and_every_trial(tmp_path):
    # mamba is better at 0.003 on validation but (by chance) worse on test there: the choice must follow val
    for rec in (tuned("mamba", 0.001, 0, val=0.50, test=0.90), tuned("mamba", 0.003, 0, val=0.70, test=0.60),
                tuned("mamba", 0.003, 1, val=0.72, test=0.64),
                tuned("transformer", 0.001, 0, val=0.80, test=0.81), tuned("transformer", 0.003, 0, 0.80, 0.10),
                tuned("transformer", 0.001, 1, val=0.82, test=0.83)):
        write(tmp_path / "records", rec)
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    rows = {r["model"]: r for r in table(md, "mqar")}
    assert set(rows) == {"mamba", "transformer"}                                      # one row per model
    assert rows["mamba"]["tuned"] == "optim.lr=0.003" and rows["mamba"]["test/acc (%)"] == "62.0 ± 2.8"
    assert rows["transformer"]["tuned"] == "optim.lr=0.001"                           # a tie goes to the first
    assert rows["transformer"]["test/acc (%)"].strip("*") == "82.0 ± 1.4"
    trials = {r["model"]: r for r in table(md, "mqar", nth=1)}
    assert trials["mamba"] == {"model": "mamba", "val/acc at optim.lr=0.001": "50.0 ± —",
                               "val/acc at optim.lr=0.003": "**70.0 ± —**", "chosen": "0.003"}
    assert "Tuning:" in md


def test_a_task_trained_until_solved_is_tuned_on_the_steps_it_took_to_solve_it(tmp_path):
    spec = {"key": "optim.lr", "values": [0.001, 0.003, 0.01], "metric": "val/acc", "mode": "max", "seeds": [0]}
    trials = {0.001: (0.993, 1750), 0.003: (0.990, 2000), 0.01: (0.994, 2500)}  # 0.01 the best val/acc, by noise
    for lr, (val, steps) in trials.items():
        write(tmp_path / "r", record("copying", "mamba", 0, {"val/acc": val, "test/acc": val}, tuning=spec,
                                     protocol={"optim": {"lr": lr}, "trainer": {"max_steps": 3000, "solved_at": 0.99}},
                                     steps=steps, config_hash=f"{lr}"))
    md = build_report(tmp_path / "r", tmp_path / "none", tmp_path / "out")["markdown"].read_text()
    [trial] = table(md, "copying", nth=1)
    assert trial["chosen"] == "0.001"
    assert trial["val/acc at optim.lr=0.001"] == "**99.3 ± — (solved in 1,750 steps)**"
    assert "the fewest steps first" in md


def test_a_changed_grid_makes_the_old_trials_stale_and_an_all_failed_group_is_named(tmp_path):
    old = tuned("mamba", 0.001, 0, val=0.5, test=0.5)
    old.update(tuning=dict(old["tuning"], values=[0.0003, 0.001]), finished_at="2026-11-20T05:00:00Z",
               config_hash="old-grid")
    for rec in (old, tuned("mamba", 0.001, 0, val=0.6, test=0.7), tuned("mamba", 0.003, 0, val=0.8, test=0.9),
                tuned("transformer", 0.001, 0, 0.0, 0.0, ) | {"status": "failed", "error": "FloatingPointError: nan"},
                tuned("transformer", 0.003, 0, 0.0, 0.0) | {"status": "failed", "error": "FloatingPointError: nan"}):
        write(tmp_path / "records", rec)
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    rows = {r["model"]: r for r in table(md, "mqar")}
    assert rows["mamba"]["test/acc (%)"].strip("*") == "90.0 ± —"   # the old grid's trial is not averaged in
    trials = {r["model"]: r for r in table(md, "mqar", nth=1)}
    assert set(trials) == {"mamba", "transformer"} and "0.0003" not in " ".join(trials["mamba"])
    assert trials["transformer"]["chosen"] == "**none: no trial finished**"


def test_bold_only_where_the_gap_exceeds_the_spread(tmp_path):
    from runners.report.build import BOLD_RULE
    runs = {("mamba", 0): 0.90, ("mamba", 1): 0.92, ("transformer", 0): 0.50, ("transformer", 1): 0.52,
            ("s4d", 0): 0.52, ("s4d", 1): 0.48}
    for (model, seed), acc in runs.items():
        write(tmp_path / "records", record("copy", model, seed, {"test/acc": acc}, data={"n_test": 128}))
        # the same models on a task where the leader is within the seeds' spread and the binomial error
        close = acc if model != "mamba" else 0.53 + 0.02 * seed
        write(tmp_path / "records", record("close", model, seed, {"test/acc": close}, data={"n_test": 128}))
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    copy, close = md.split("### Task `copy`")[1], md.split("### Task `close`")[1].split("### Task")[0]
    assert "**91.0 ± 1.4**" in copy and copy.count("**") == 2
    assert "**" not in close.split("Primary metric")[0]
    assert BOLD_RULE.split(":")[0] in md


def forecast(model, seed, horizon, mse, **extra):
    """A forecasting record: one horizon per run, MSE (lower is better), throughput in windows."""
    extra = {"config_hash": f"{model}-{seed}-{horizon}", **extra}
    return record("ETTh1", model, seed, {"test/mse": mse, "test/mae": mse / 2, "val/loss": mse}, suite="ts",
                  data={"dataset": "ETTh1", "lookback": 96, "horizon": horizon}, primary_metric="test/mse",
                  metric_directions={"mse": "min", "mae": "min", "loss": "min"}, pivot="horizon",
                  throughput=250.0, throughput_unit="windows", params=1000 + horizon, **extra)


def test_forecasting_runs_fold_into_one_row_per_model_with_a_column_per_horizon(tmp_path):
    runs = {("s_mamba", 96): (0.40, 0.42), ("s_mamba", 336): (0.50, 0.52),
            ("dlinear", 96): (0.45, 0.47), ("dlinear", 336): (0.48, 0.52)}
    for (model, horizon), values in runs.items():
        for seed, mse in enumerate(values):
            write(tmp_path / "records", forecast(model, seed, horizon, mse))
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    rows = table(md, "ETTh1")
    assert [r["model"] for r in rows] == ["s_mamba", "dlinear"]        # ranked by test/mse@96, lower first
    s_mamba = rows[0]
    assert s_mamba["test/mse@96"] == "**0.410 ± 0.014**" and s_mamba["test/mse@336"] == "0.510 ± 0.014"
    assert s_mamba["seeds"] == "2" and s_mamba["params"] == "1.1k–1.34k" and s_mamba["windows/s"] == "250"
    assert "Primary metric: `test/mse@96`" in md
    # lower is better: at 336 dlinear's mean is lower, but not by more than the two seeds' spread
    assert rows[1]["test/mse@336"] == "0.500 ± 0.028"
    assert (tmp_path / "plots" / "ts--ETTh1--length.svg").exists()
    assert "mse against horizon" in md


def test_a_papers_one_number_for_a_pivoted_task_is_a_flat_line_on_its_plot(tmp_path):
    for horizon in (96, 336):
        write(tmp_path / "records", forecast("dlinear", 0, horizon, 0.45))
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "p.yaml").write_text(yaml.safe_dump({
        "source": "Paper", "task": "ETTh1", "metric": "test/mse", "unit": "mse",
        "entries": [{"paper_model": "DLinear at 720", "ours": "dlinear", "value": 0.5}]}))
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    assert "(flat: a paper's one number, at its own horizon)" in (tmp_path / "leaderboard.md").read_text()
    assert "paper: DLinear at 720" in (tmp_path / "plots" / "ts--ETTh1--length.svg").read_text()


def test_bold_for_a_lower_is_better_metric_needs_two_seeds(tmp_path):
    write(tmp_path / "records", forecast("s_mamba", 0, 96, 0.1))
    write(tmp_path / "records", forecast("dlinear", 0, 96, 0.9))
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    assert "**" not in (tmp_path / "leaderboard.md").read_text().split("### Task `ETTh1`")[1].split("Primary")[0]


def test_a_tuned_forecaster_that_chose_differently_per_horizon_is_still_one_row(tmp_path):
    spec = {"key": "optim.lr", "values": [0.0003, 0.001], "metric": "val/mse", "mode": "min", "seeds": [0]}
    chosen = {96: 0.001, 336: 0.0003}
    for horizon in (96, 336):
        for lr in spec["values"]:
            for seed in ((0, 1) if lr == chosen[horizon] else (0,)):
                val = 0.5 if lr == chosen[horizon] else 0.6
                write(tmp_path / "records", forecast("patchtst", seed, horizon, 0.4 + seed / 100, tuning=spec,
                                                     protocol={"optim": {"lr": lr}},
                                                     config_hash=f"{horizon}-{lr}-{seed}") | {
                    "metrics": {"test/mse": 0.4 + seed / 100, "val/mse": val}})
    build_report(tmp_path / "records", tmp_path / "published", tmp_path)
    [row] = table((tmp_path / "leaderboard.md").read_text(), "ETTh1")
    assert row["tuned"] == "optim.lr: 0.001 @96, 0.0003 @336" and row["seeds"] == "2"
    assert row["test/mse@96"] == row["test/mse@336"] == "0.4050 ± 0.0071"
