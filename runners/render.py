"""Render the report's blocks as Markdown and as one self-contained HTML page.

A report is a list of blocks, so both outputs carry the same content:
    ("h", level, text)   ("p", text)   ("list", [text, ...])   ("table", columns, rows)
    ("plot", title, relative path, absolute path)
Text may hold `code` and **bold** spans (Markdown syntax); the HTML renderer translates just those two.
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
"""


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for kind, *body in blocks:
        if kind == "h":
            out.append("#" * body[0] + " " + body[1])
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
            out.append(f"<h{body[0]}>{_inline(body[1])}</h{body[0]}>")
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
            out.append(f"<figure>{_inline_svg(Path(body[2]))}<figcaption>{_inline(body[0])}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return str(text).replace("\n", " ").replace("|", "\\|")


def _inline(text: str) -> str:
    """Escape, then turn `code`, **bold** and bare URLs into their HTML (links, not loaded resources)."""
    text = html.escape(str(text))
    text = re.sub(r"`([^`]*)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(https?://[^\s<)]+)", r'<a href="\1">\1</a>', text)


def _inline_svg(path: Path) -> str:
    """The SVG element itself, without the XML prologue and doctype that are invalid inside HTML, its ids
    prefixed with the file's name: matplotlib numbers them from 1 in every figure, so two inline plots
    would otherwise share ids (and one plot's clip path could clip the other)."""
    text = path.read_text()
    text = text[text.index("<svg"):]
    prefix = re.sub(r"\W", "_", path.stem) + "-"
    text = re.sub(r'(\sid=")', rf"\g<1>{prefix}", text)
    return re.sub(r'(url\(#|href="#)', rf"\g<1>{prefix}", text)
