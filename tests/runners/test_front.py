"""The front page: the registry's taxonomy, one compact leaderboard per domain with the papers' numbers beside
ours, ablations left to the details page, and every link landing on the details page's sections."""
import re

import pytest
import yaml

import zoo
from runners.report.build import build_report

from .test_report import record, write

# the registered taxonomy, so the front page places these rows in their real domains
TAX = {m: zoo.model_info(m).taxonomy for m in ("mamba", "transformerpp", "s_mamba", "dlinear")}


def rec(task, model, seed, metrics, **extra):
    return record(task, model, seed, metrics, taxonomy=TAX[model], **extra)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("front")
    for seed, (m, t) in enumerate([(0.97, 0.60), (0.99, 0.64)]):
        write(root / "r", rec("copying", "mamba", seed, {"test/acc": m}))
        write(root / "r", rec("copying", "transformerpp", seed, {"test/acc": t}))
        # a second width of mamba: an ablation; the registered width (64) stands for mamba
        write(root / "r", rec("copying", "mamba", seed, {"test/acc": 0.5}, config={"d_model": 32}))
    write(root / "r", rec("copying", "transformerpp", 2, {}, status="failed", error="killed"))
    for seed in (0, 1):  # a table whose every row is a configuration of one model: details only
        for order in ("sweep", "hilbert"):
            write(root / "r", rec("scans", "mamba", seed, {"test/acc": 0.8}, config={"d_model": 64, "order": order},
                                  suite="scans"))
    for horizon, (ours, linear) in {96: (0.39, 0.40), 336: (0.48, 0.47)}.items():  # pivoted: a row per horizon
        for model, mse in (("s_mamba", ours), ("dlinear", linear)):
            write(root / "r", rec("ETTh1", model, 0, {"test/mse": mse}, suite="timeseries", pivot="horizon",
                                  primary_metric="test/mse", data={"horizon": horizon},
                                  metric_directions={"mse": "min"}, params=1000 + horizon))
    (root / "p").mkdir()
    (root / "p" / "copying.yaml").write_text(yaml.safe_dump({
        "source": "Paper A, Table 1", "task": "copying", "metric": "test/acc", "unit": "fraction",
        "entries": [{"paper_model": "Mamba", "ours": "mamba", "value": 0.998}]}))
    (root / "p" / "ett.yaml").write_text(yaml.safe_dump({
        "source": "Paper B", "task": "ETTh1", "metric": "test/mse", "unit": "mse",
        "entries": [{"paper_model": "S-Mamba", "ours": "s_mamba", "values": {96: 0.386, 336: 0.489}},
                    {"paper_model": "DLinear", "ours": "dlinear", "value": 0.45}]}))  # one number at its own horizon
    written = build_report(root / "r", root / "p", root / "out")
    return written["html"].read_text(), written["details"].read_text()


def rows_under(page: str, heading: str) -> list[list[str]]:
    """The cells (tags stripped) of the first table after an <h2> with this text."""
    section = page.split(f">{heading}</h2>", 1)[1]
    table = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", tr)] for tr in table.split("</tr>")
            if "<td>" in tr]


def test_the_taxonomy_holds_every_registered_variant_once(pages):
    front, _ = pages
    cells = rows_under(front, "The survey&#x27;s taxonomy: every registered variant")
    names = [n.split(" ")[0] for row in cells for cell in row[1:] if cell != "—" for n in cell.split(", ")]
    assert sorted(names) == zoo.list_models()
    for row in cells:  # each variant in the column of its domain, on the row of its section
        for cell, domain in zip(row[1:], ["language", "vision", "graph", "timeseries"]):
            for n in (c.split(" ")[0] for c in cell.split(", ") if c != "—"):
                assert (zoo.model_info(n).taxonomy["section"], zoo.model_info(n).taxonomy["domain"]) == (row[0], domain)
    assert '<a href="#domain-language"><code>mamba</code></a>' in front  # run: a link to its leaderboard
    assert "<code>vim</code> (not run)" in front


def test_a_domain_leaderboard_ranks_seeds_means_beside_the_papers_number(pages):
    front, _ = pages
    rows = rows_under(front, "Language")
    assert [(r[0], r[1]) for r in rows] == [("copying", "mamba"), ("copying", "transformerpp")]
    mamba, transformer = rows
    assert mamba[3] == "test/acc (%) ↑"
    assert mamba[4:7] == ["98.0 ± 1.4", "2", "99.8 [1]"] and transformer[5:7] == ["2 (+1 failed)", "—"]
    assert "Paper A, Table 1" in front.split(">Language</h2>", 1)[1].split("<h2", 1)[0]
    # the second width and the scan-order table are ablations, each linked on the details page
    assert 'href="details.html#task-language-copying">1 in' in front
    assert 'href="details.html#task-scans-scans">2 in' in front


def test_a_pivoted_task_has_a_row_per_pivot_value_with_the_papers_value_there(pages):
    front, _ = pages
    rows = rows_under(front, "Time series")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("ETTh1, horizon 96", "s_mamba", "1.1k", "test/mse@96 ↓"), ("ETTh1, horizon 96", "dlinear", "1.1k", "test/mse@96 ↓"),
        ("ETTh1, horizon 336", "dlinear", "1.34k", "test/mse@336 ↓"),
        ("ETTh1, horizon 336", "s_mamba", "1.34k", "test/mse@336 ↓")]
    # a paper's one number for the task (LRA's ListOps, at its own length) stands beside every pivot value
    assert [r[6] for r in rows] == ["0.386 [1]", "0.45 [1]", "0.45 [1]", "0.489 [1]"]


def test_every_details_link_lands_on_a_section_of_the_details_page(pages):
    front, details = pages
    ids = set(re.findall(r'\sid="([^"]+)"', details))
    links = re.findall(r'href="details\.html#([^"]+)"', front)
    assert links and set(links) <= ids
    assert 'href="index.html"' in details


def test_the_front_page_shows_our_count_beside_the_published_one():
    from runners.report.front import sizes_table
    kind, columns, rows = sizes_table()
    assert kind == "table" and columns == ["model", "size", "our count", "published", "source"]
    vim_s = next(r for r in rows if r[:2] == ["`vim`", "vim_s"])
    assert vim_s[2:4] == ["25,796,200", "26,000,000"]
    assert next(r for r in rows if r[0] == "`jamba_style`")[3] == "—"
