"""The capacity report as one self-contained HTML file (``rackplan capacity --html``).

A heat map per resource kind and one for power: sites down, buckets across, each cell
coloured by utilisation and titled with its figures and the families' shares. No
script and no outside asset: the file opens anywhere. The service draws the same report
with its own page (``/capacity``).
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font:13px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ddd;padding:2px 4px;text-align:center;font-size:11px}
th{background:#f4f4f4;font-weight:600}
td.n{background:#fafafa;color:#aaa}
caption{text-align:left;font-weight:600;padding:.3em 0}
.legend span{display:inline-block;width:3em;text-align:center;font-size:11px}
"""


def colour(u: float | None) -> str:
    """A cell's background for utilisation `u`: white through amber to red above 1."""
    if u is None:
        return "#fafafa"
    x = max(0.0, min(u, 1.2)) / 1.2
    # white (0) -> amber (0.75) -> red (1.2 and above)
    if x < 0.625:
        t = x / 0.625
        r, g, b = 255, round(255 - 55 * t), round(255 - 200 * t)
    else:
        t = (x - 0.625) / 0.375
        r, g, b = round(255 - 35 * t), round(200 - 160 * t), round(55 - 15 * t)
    return f"#{r:02x}{g:02x}{b:02x}"


def _rows_by_kind(report: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    kinds: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for site in report["sites"]:
        for g in site["groups"]:
            kinds.setdefault(g["kind"] or "alternatives", []).append((g["id"], g))
        if site["power"] is not None:
            kinds.setdefault("power", []).append((f"{site['id']}/power", site["power"]))
    return kinds


def _cell(row: dict[str, Any], b: int, unit: str) -> str:
    u = row["utilisation"][b]
    avail = row[f"available_{unit}"][b]
    load = row[f"planned_{unit}"] or row[f"allocated_{unit}"]
    if u is None:
        return '<td class="n">-</td>'
    parts = [f"utilisation {u:.0%}", f"available {avail:,.0f} {unit}"]
    if load is not None:
        parts.append(f"load {load[b]:,.0f} {unit}")
    key = f"planned_{unit}" if row[f"planned_{unit}"] is not None else f"allocated_{unit}"
    for fam, by in row["by_family"].items():
        if by.get(key) is not None and by[key][b] > 0:
            parts.append(f"{fam} {by[key][b]:,.0f}")
    title = escape("; ".join(parts))
    return f'<td style="background:{colour(u)}" title="{title}">{u:.0%}</td>'


def render(report: dict[str, Any]) -> str:
    """The report (`Report.to_dict`) as an HTML page."""
    out = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Capacity: {escape(str(report['problem']))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Capacity: {escape(str(report['problem']))}</h1>",
        f"<p>Buckets: {escape(report['bucket'])} ({len(report['buckets'])}); load from "
        f"{'the plan' if report['plan'] else 'the allocation'} (allocation: "
        f"{escape(str(report['allocation']['status']))}); families: "
        f"{escape(', '.join(report['families']))}.</p>",
        '<p class="legend">' + "".join(
            f'<span style="background:{colour(u)}">{u:.0%}</span>'
            for u in (0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.2)) + "</p>",
    ]
    heads = "".join(f"<th>{escape(a[:10])}</th>" for a in
                    (b["start"] for b in report["buckets"]))
    for kind, rows in _rows_by_kind(report).items():
        unit = "kwh" if kind == "power" else "min"
        out.append(f"<table><caption>{escape(kind)}</caption><tr><th></th>{heads}</tr>")
        for name, row in rows:
            cells = "".join(_cell(row, b, unit) for b in range(len(report["buckets"])))
            out.append(f"<tr><th>{escape(name)}</th>{cells}</tr>")
        out.append("</table>")
    out.append("<h2>Bottlenecks</h2>")
    if report["bottlenecks"]:
        out.append("<table><tr><th>site</th><th>group</th><th>bucket</th>"
                   "<th>utilisation</th></tr>")
        for x in report["bottlenecks"]:
            out.append(f"<tr><td>{escape(x['site'])}</td><td>{escape(x['group'])}</td>"
                       f"<td>{escape(x['start'][:10])}</td><td>{x['utilisation']:.0%}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No bucket at or above 90 %.</p>")
    out.append("<h2>Late whatever the sequence</h2>")
    if report["late_orders"]:
        out.append("<table><tr><th>order</th><th>customer</th><th>family</th><th>due</th>"
                   "<th>earliest delivery</th><th>lateness at least (min)</th></tr>")
        for o in report["late_orders"]:
            out.append(
                f"<tr><td>{escape(o['id'])}</td><td>{escape(str(o['customer'] or ''))}</td>"
                f"<td>{escape(o['family'])}</td><td>{escape(o['due'])}</td>"
                f"<td>{escape(o['earliest_delivery'])}</td>"
                f"<td>{o['tardiness_bound_min']:,}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>None: every order can be on time on its own.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
