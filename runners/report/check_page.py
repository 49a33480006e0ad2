"""Load report pages in a real headless browser (Chromium, through Playwright) and say what is wrong with them.

    python -m runners.report.check_page [results/index.html results/details.html]   # exit status 1 on any problem

Per page: no console error and no uncaught exception; every table has a header and at least one row; every
plot is an inline SVG the browser laid out at a visible size; every link into a page of the report lands on
an element that exists. On the front page it also sorts a table by a column, both ways, the way a reader's
click does, and checks the order. Chromium is Debian's (`apt-get install chromium`); MAMBAZOO_CHROMIUM names
another binary.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # this machine's network is closed: ask it nothing


def chromium() -> str | None:
    """The Chromium binary to drive, or None when this machine has none."""
    found = os.environ.get("MAMBAZOO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and Path(found).exists() else None


def check_pages(paths: list[Path]) -> dict[str, list[str]]:
    """{page: [problem, ...]} for each page (an empty list: nothing wrong); a page that cannot be opened is
    one problem."""
    from playwright.sync_api import sync_playwright

    binary = chromium()
    if binary is None:
        raise SystemExit("check_page: no Chromium here: apt-get install chromium (or set MAMBAZOO_CHROMIUM)")
    found = {}
    with sync_playwright() as pw:  # a fresh, empty profile of Playwright's own
        browser = pw.chromium.launch(executable_path=binary, args=FLAGS)
        try:
            for path in paths:
                found[str(path)] = _check(browser, Path(path).resolve())
        finally:
            browser.close()
    return found


def _check(browser, path: Path) -> list[str]:
    if not path.is_file():
        return [f"{path} does not exist"]
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
    page.goto(path.as_uri(), wait_until="load")
    tables = page.locator("table")
    if tables.count() == 0:
        problems.append("no table")
    for i in range(tables.count()):
        table = tables.nth(i)
        if table.locator("thead th").count() == 0 or table.locator("tbody tr").count() == 0:
            problems.append(f"table {i + 1} has no header or no rows")
    figures = page.locator("figure")
    for i in range(figures.count()):
        box = figures.nth(i).locator("svg").first.bounding_box() if figures.nth(i).locator("svg").count() else None
        if not box or box["width"] < 50 or box["height"] < 50:
            caption = figures.nth(i).locator("figcaption").inner_text()[:80]
            problems.append(f"plot {i + 1} ({caption}) is not drawn at a visible size")
    problems += _broken_links(page, path)
    if path.name == "index.html" and tables.count():
        problems += _sorting(page)
    page.close()
    return problems


def _broken_links(page, path: Path) -> list[str]:
    """Links to #anchors of this page or of a sibling page that do not land on an element."""
    problems, ids = [], {}
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
        target, _, anchor = href.partition("#")
        if re.match(r"[a-z]+:", target):
            continue  # an outside address: not the report's to check
        file = path if not target else path.parent / target
        if not file.is_file():
            problems.append(f"link {href}: {file.name} does not exist")
            continue
        if anchor:
            if file not in ids:
                ids[file] = set(re.findall(r'\sid="([^"]+)"', file.read_text()))
            if anchor not in ids[file]:
                problems.append(f"link {href}: no element with id {anchor!r} in {file.name}")
    return problems


def _sorting(page) -> list[str]:
    """Click the first leaderboard's 'ours' header twice: ascending by its leading number, then descending."""
    table = page.locator("table").filter(has=page.locator("th", has_text="ours")).first
    if table.count() == 0:
        return []
    column = [h.strip() for h in table.locator("thead th").all_inner_texts()].index(
        next(h for h in table.locator("thead th").all_inner_texts() if "ours" in h))
    header = table.locator("thead th").nth(column)
    problems = []
    for direction, want in (("ascending", sorted), ("descending", lambda v: sorted(v, reverse=True))):
        header.click()
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        values = [float(m.group()) for c in cells if (m := re.match(r"-?\d+(\.\d+)?", c.replace(",", "")))]
        if header.get_attribute("aria-sort") != direction or values != want(values) or len(values) < 2:
            problems.append(f"sorting by {header.inner_text()!r} ({direction}) gave {cells}")
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.report.check_page", description=__doc__.split("\n")[0])
    p.add_argument("pages", nargs="*", type=Path, default=[Path("results/index.html"), Path("results/details.html")])
    a = p.parse_args(argv)
    found = check_pages(a.pages)
    for page, problems in found.items():
        print(f"{page}: " + ("ok" if not problems else f"{len(problems)} problems"))
        for line in problems:
            print(f"  {line}")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
