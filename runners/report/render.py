"""Render the report's blocks as Markdown and as one self-contained HTML page.

A report is a list of blocks, so both outputs carry the same content:
    ("h", level, text[, anchor])   ("p", text)   ("list", [text, ...])   ("table", columns, rows)
    ("plot", title, relative path, absolute path)   ("gallery", [(title, relative path, absolute path), ...])
Text may hold `code`, **bold** and [link](relative#anchor) spans (Markdown syntax); the HTML renderer
translates just those three (a link without a scheme only: nothing in a record can point a page elsewhere).
Every HTML table sorts by a column when its header is clicked (SORT_SCRIPT, inline: the page stays one file).
(Not named html.py: a module of that name would shadow the standard library's when run as a script.)
"""
from __future__ import annotations

import html
import re
from pathlib import Path

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1, h2, h3 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.scroll { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f0f0f0; padding: 0 .2rem; font-size: .8rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #555; }
.gallery { display: flex; flex-wrap: wrap; gap: 1rem; }
.gallery figure { flex: 1 1 420px; max-width: 560px; }
th[aria-sort] { cursor: pointer; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
"""

# A cell sorts by its leading number (thousands commas dropped; k, M, G scaled; "98.2 ± 0.3" by 98.2),
# else by its text; cells without either ("—") go last in both directions.
SORT_SCRIPT = """
function sortKey(cell) {
  const text = cell.textContent.trim().replace(/,/g, "");
  const m = text.match(/^-?\\d+(\\.\\d+)?(e[-+]?\\d+)?/i);
  if (m) return [0, parseFloat(m[0]) * ({k: 1e3, M: 1e6, G: 1e9}[text.charAt(m[0].length)] || 1)];
  return text === "" || text === "\u2014" ? [2, ""] : [1, text.toLowerCase()];
}
function sortTable(table, column, header) {
  const down = header.getAttribute("aria-sort") === "ascending";
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).map((row, i) => [sortKey(row.cells[column]), i, row]);
  rows.sort((a, b) => {
    if (a[0][0] !== b[0][0]) return a[0][0] - b[0][0];
    const order = a[0][1] < b[0][1] ? -1 : a[0][1] > b[0][1] ? 1 : a[1] - b[1];
    return a[0][0] === 2 ? a[1] - b[1] : (down ? -order : order);
  });
  rows.forEach(r => body.appendChild(r[2]));
  table.querySelectorAll("th").forEach(th => th.setAttribute("aria-sort", "none"));
  header.setAttribute("aria-sort", down ? "descending" : "ascending");
}
document.querySelectorAll("table").forEach(table => {
  table.querySelectorAll("thead th").forEach((th, column) => {
    th.setAttribute("aria-sort", "none");
    th.title = "sort by this column";
    th.addEventListener("click", () => sortTable(table, column, th));
  });
});
"""


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for kind, *body in blocks:
        if kind == "h":
            out.append("#" * body[0] + " " + body[1])
        elif kind == "gallery":
            out.append("\n\n".join(f"![{title}]({rel})" for title, rel, _ in body[0]))
        elif kind == "p":
            out.append(body[0])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in body[0]))
        elif kind == "table":
            columns, rows = body
            lines = [columns, ["---"] * len(columns), *rows]
            out.append("\n".join("| " + " | ".join(_md_cell(c) for c in line) + " |" for line in lines))
        elif kind == "plot":
            out.append(f"![{body[0]}]({body[1]})")
    return "\n\n".join(out) + "\n"


def to_html(blocks: list[tuple], title: str) -> str:
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
           f"<style>{CSS}</style></head><body>"]
    for kind, *body in blocks:
        if kind == "h":
            anchor = f' id="{html.escape(body[2])}"' if len(body) > 2 else ""
            out.append(f"<h{body[0]}{anchor}>{_inline(body[1])}</h{body[0]}>")
        elif kind == "gallery":
            out.append('<div class="gallery">' + "".join(_figure(*plot) for plot in body[0]) + "</div>")
        elif kind == "p":
            out.append(f"<p>{_inline(body[0])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in body[0]) + "</ul>")
        elif kind == "table":
            columns, rows = body
            head = "".join(f"<th>{_inline(c)}</th>" for c in columns)
            cells = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
                       f"<tbody>{cells}</tbody></table></div>")
        elif kind == "plot":
            out.append(_figure(*body))
    out.append(f"<script>{SORT_SCRIPT}</script></body></html>\n")
    return "\n".join(out)


def _figure(title: str, _relative: str, path: str) -> str:
    return f"<figure>{_inline_svg(Path(path))}<figcaption>{_inline(title)}</figcaption></figure>"


def _md_cell(text: str) -> str:
    return str(text).replace("\n", " ").replace("|", "\\|")


def _inline(text: str) -> str:
    """Escape, then turn `code`, **bold**, [relative links](#x) and bare URLs into their HTML (links, not
    loaded resources)."""
    text = html.escape(str(text))
    text = re.sub(r"`([^`]*)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(https?://[^\s<)]+)", r'<a href="\1">\1</a>', text)
    return re.sub(r"\[([^\]]+)\]\(([^)\s:]+)\)", r'<a href="\2">\1</a>', text)


def _inline_svg(path: Path) -> str:
    """The SVG element itself, without the XML prologue and doctype that are invalid inside HTML, its ids
    prefixed with the file's name: matplotlib numbers them from 1 in every figure, so two inline plots
    would otherwise share ids (and one plot's clip path could clip the other)."""
    text = path.read_text()
    text = text[text.index("<svg"):]
    prefix = re.sub(r"\W", "_", path.stem) + "-"
    text = re.sub(r'(\sid=")', rf"\g<1>{prefix}", text)
    return re.sub(r'(url\(#|href="#)', rf"\g<1>{prefix}", text)
