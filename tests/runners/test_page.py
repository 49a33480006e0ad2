"""The report's pages in a real headless Chromium: no console error, every table and plot present, the links
land, a click sorts. Skipped where this machine has no Chromium, unless MAMBAZOO_BROWSER=required (.ci/run
sets it once it has installed Debian's chromium)."""
import os

import pytest

from runners.report import check_page
from runners.run.env import ROOT
from runners.report.build import build_report

from .test_report import write_fixtures

if check_page.chromium() is None:
    if os.environ.get("MAMBAZOO_BROWSER") == "required":
        raise RuntimeError("MAMBAZOO_BROWSER=required, but there is no Chromium here (apt-get install chromium)")
    pytest.skip("no Chromium here (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    write_fixtures(root / "records", root / "published")
    return build_report(root / "records", root / "published", root / "out")


def test_the_pages_load_without_a_problem(built):
    committed = [ROOT / "results" / "index.html", ROOT / "results" / "details.html"]
    found = check_page.check_pages([built["html"], built["details"], *committed])
    assert found == {str(p): [] for p in [built["html"], built["details"], *committed]}


def test_each_kind_of_broken_page_is_named(built, tmp_path):
    page = built["html"].read_text()
    assert page.count("sortTable(table, column, th)") == 1
    broken = (page.replace("sortTable(table, column, th)", "0", 1)  # a click no longer sorts
              .replace("</body>", "<table><thead><tr><th>x</th></tr></thead><tbody></tbody></table>"
                                  "<figure><svg width='0' height='0'></svg><figcaption>empty</figcaption></figure>"
                                  "<a href='details.html#nowhere'>x</a><script>notAFunction()</script></body>"))
    (tmp_path / "index.html").write_text(broken)
    (tmp_path / "details.html").write_text(built["details"].read_text())
    [problems] = check_page.check_pages([tmp_path / "index.html"]).values()
    text = "\n".join(problems)
    assert "uncaught exception: notAFunction is not defined" in text
    assert "has no header or no rows" in text
    assert "(empty) is not drawn at a visible size" in text
    assert "link details.html#nowhere: no element with id 'nowhere' in details.html" in text
    assert "sorting by" in text
