"""The HTML building blocks of the retention report: page, sections, tiles, tables, charts.

Everything here returns HTML text and is self-contained: the style sheet is
inline, images are ``data:`` URIs and the small line charts are inline SVG.
Nothing refers to a network resource (no scripts, fonts, style sheets or
links), so the report opens offline and inside the MLflow UI's artifact
viewer. Text is always escaped; the only raw HTML a function accepts is the
output of another function of this module (parameters named ``*_html``).
"""

from __future__ import annotations

import base64
import html
import math
import numbers
from collections.abc import Sequence

__all__ = [
    "CSS",
    "bar_html",
    "esc",
    "format_value",
    "image_html",
    "line_chart_svg",
    "note_html",
    "page_html",
    "section_html",
    "table_html",
    "tile_html",
]

#: The whole style sheet; system fonts only, so nothing is downloaded.
CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --accent: #2f6fb3;
        --good: #1b7f4b; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #102a43; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header dl { margin: 0; display: flex; flex-wrap: wrap; gap: 4px 24px; font-size: 13px; color: #d9e2ec; }
header dt { display: inline; font-weight: 600; }
header dd { display: inline; margin: 0 0 0 4px; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { color: var(--accent); margin-right: 18px; text-decoration: none; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 32px 32px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 18px 0; padding: 16px 20px; }
h2 { margin: 0 0 4px; font-size: 18px; }
h3 { margin: 16px 0 6px; font-size: 15px; }
p.intro, p.caption, .note { color: var(--muted); margin: 4px 0 10px; }
.note { background: var(--bg); border-left: 3px solid var(--line); padding: 8px 12px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 10px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12px; }
.tile .value { font-size: 22px; font-weight: 600; }
.tile .change { font-size: 12px; }
.good { color: var(--good); } .bad { color: var(--bad); } .flat { color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; background: var(--accent); border-radius: 2px; vertical-align: middle; }
.bartrack { display: inline-block; width: 120px; background: var(--bg); margin-right: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.charts figure { flex: 0 1 520px; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12px; }
pre { background: var(--bg); padding: 10px 12px; white-space: pre-wrap; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
"""


def esc(text: object) -> str:
    """``str(text)`` with ``& < > " '`` escaped for HTML."""
    return html.escape(str(text), quote=True)


def _finite(value: object) -> bool:
    """A real number (Python or NumPy), not a bool, not NaN or infinite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def format_value(value: object, kind: str) -> str:
    """A number for people; ``-`` when missing.

    ``kind``: ``count`` (``12,345``), ``pct`` (``12.3%``), ``money``
    (``1,234,567`` from 1,000 on, else ``12.35``), ``score`` (``12.3``) or
    ``number`` (``2.22``).
    """
    if not _finite(value):
        return "-"
    v = float(value)  # type: ignore[arg-type]
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "pct":
        return f"{v:.1f}%"
    if kind == "money":
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    if kind == "score":
        return f"{v:.1f}"
    return f"{v:,.2f}"


def page_html(title: str, meta: Sequence[tuple[str, str]], nav: Sequence[tuple[str, str]],
              sections_html: Sequence[str], footer: str) -> str:
    """The whole document: header with ``meta`` pairs, a navigation bar to ``(id, title)`` anchors,
    the sections and a footer."""
    facts = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in meta)
    links = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in nav)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><dl>{facts}</dl></header>\n"
        f"<nav>{links}</nav>\n<main>\n" + "\n".join(sections_html) + "\n</main>\n"
        f"<footer>{esc(footer)}</footer>\n</body>\n</html>\n"
    )


def section_html(section_id: str, title: str, body_html: str, intro: str = "") -> str:
    """One ``<section id=...>`` with a heading, an optional plain-text intro and a body."""
    lead = f'<p class="intro">{esc(intro)}</p>' if intro else ""
    return f'<section id="{esc(section_id)}">\n<h2>{esc(title)}</h2>{lead}\n{body_html}\n</section>'


def note_html(text: str) -> str:
    """A muted note (what is missing and how to add it)."""
    return f'<p class="note">{esc(text)}</p>'


def tile_html(label: str, value: str, change: str, mood: str, hint: str = "") -> str:
    """A KPI tile: label, value, and the change against the previous period.

    ``mood`` is ``good``, ``bad`` or ``flat`` (the colour of the change).
    """
    title = f' title="{esc(hint)}"' if hint else ""
    return (
        f'<div class="tile"{title}><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div><div class="change {esc(mood)}">{esc(change)}</div></div>'
    )


def bar_html(value: object, top: float, text: str) -> str:
    """A horizontal bar of length ``value / top`` followed by ``text`` (for a table cell)."""
    share = min(max(float(value) / top, 0.0), 1.0) if _finite(value) and top > 0 else 0.0  # type: ignore[arg-type]
    return (
        f'<span class="bartrack"><span class="bar" style="width:{share * 100:.1f}%"></span></span>'
        f"{esc(text)}"
    )


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
               raw: Sequence[int] = ()) -> str:
    """A table of text cells.

    Cells are escaped, except in the columns listed in ``raw`` (which must
    hold output of this module, e.g. :func:`bar_html`); ``numeric`` columns
    are right-aligned.
    """
    right = set(numeric)

    def cell(tag: str, i: int, text: str) -> str:
        klass = ' class="num"' if i in right else ""
        return f"<{tag}{klass}>{text if i in raw and tag == 'td' else esc(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image_html(png: bytes, alt: str, caption: str = "") -> str:
    """A PNG embedded as a base64 ``data:`` URI, in a figure with an optional caption."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def line_chart_svg(labels: Sequence[str], values: Sequence[float | None], title: str, kind: str,
                   width: int = 300, height: int = 120) -> str:
    """A small inline-SVG line chart of one metric per period; missing values break the line.

    The y axis spans the observed minimum to maximum (padded); the first and
    last period and the extreme values are labelled.
    """
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and _finite(v)]
    left, right, top, bottom = 44, 10, 22, 22
    svg = [f'<svg width="{width}" height="{height}" role="img" '
           f'aria-label="{esc(title)}"><title>{esc(title)}</title>',
           f'<text x="{left}" y="14" font-size="12" font-weight="600">{esc(title)}</text>']
    if not points:
        svg.append(f'<text x="{left}" y="{height // 2}" font-size="11" fill="#616e7c">no answers</text></svg>')
        return "".join(svg)
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return (left + (width - left - right) * i / n, top + (height - top - bottom) * (hi - v) / (hi - lo))

    runs: list[list[tuple[float, float]]] = []
    last = -2
    for i, v in points:
        if i != last + 1:
            runs.append([])
        runs[-1].append(xy(i, v))
        last = i
    svg.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
               'stroke="#d9e2ec"/>')
    for run in runs:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
        svg.append(f'<polyline fill="none" stroke="#2f6fb3" stroke-width="2" points="{coords}"/>')
        svg.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#2f6fb3"/>' for x, y in run)
    for v in {lo + pad, hi - pad}:
        y = xy(0, v)[1]
        svg.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
                   f'fill="#616e7c">{esc(format_value(v, kind))}</text>')
    for i, anchor in ((0, "start"), (len(labels) - 1, "end")):
        svg.append(f'<text x="{xy(i, lo)[0]:.1f}" y="{height - 6}" font-size="10" text-anchor="{anchor}" '
                   f'fill="#616e7c">{esc(labels[i])}</text>')
    svg.append("</svg>")
    return "".join(svg)
