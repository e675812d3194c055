"""`apex-conformance trend DIR`: one self-contained page of the runs a `--history` folder
keeps: requirement counts per level and verdict over time as inline SVG (no script, no
network), a table of the runs and the flaky requirements."""

from __future__ import annotations

from html import escape
from typing import Any

from conformance.report.history import STRIP_STYLE, history_section, strip_html
from conformance.report.html import STYLE
from conformance.transport.redact import redact_text
from conformance.vocabulary import LEVELS

# Stacked from the bottom: what passed, then what needs attention, then no verdict.
_STACK = ("passed", "info", "waived", "warned", "failed", "error", "skipped")
_COLOURS = {
    "passed": "#3aa55d",
    "info": "#4a86d0",
    "waived": "#7b68c8",
    "warned": "#e0a800",
    "failed": "#d93636",
    "error": "#9c3cc0",
    "skipped": "#c4c9d2",
}
_TABLE = ("passed", "failed", "warned", "waived", "error", "info")
_HEIGHT, _TOP, _PLOT, _LEFT = 160, 8, 112, 40
_LABEL_ROOM = 40  # px between two date labels
_MIN = 3.0  # px: the least height of a verdict that occurred

TREND_STYLE = """<style>
.apex svg.trend{display:block;margin:4px 0 14px;max-width:100%;height:auto}
.apex svg.trend text{font:11px system-ui,sans-serif;fill:#596173}
.apex .legend span{display:inline-block;margin-right:12px;font-size:12px}
.apex .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.apex table.runs td{white-space:nowrap;font-size:12px}
.apex .n{display:inline-block;min-width:22px;margin-right:3px;padding:0 3px;border-radius:3px;
 text-align:center;font-weight:600}
.apex .n.passed{background:#dcf3e3;color:#14622d} .apex .n.failed{background:#fcd9d9;color:#9b1c1c}
.apex .n.warned{background:#fff0c2;color:#7a5300} .apex .n.error{background:#f3d9fa;color:#6b1d84}
.apex .n.info{background:#dbe9fb;color:#1c4d8c} .apex .n.waived{background:#e7e3fb;color:#4b3a94}
</style>"""


def trend_points(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per run, oldest first: when, what, the gate and the counts per level."""
    return [
        {
            "started": str(run["run"].get("started", "")),
            "target": str(run["run"].get("target", "")),
            "profile": str(run["run"].get("profile", "")),
            "suite_version": str(run["run"].get("suite_version", "")),
            "models": run["run"].get("models"),
            "overall": str((run.get("gate") or {}).get("verdict", "")),
            "totals": {
                level: {word: int(run["totals"].get(level, {}).get(word, 0)) for word in _STACK}
                for level in LEVELS
            },
        }
        for run in runs
    ]


def trend_html(runs: list[dict[str, Any]], source: str = "") -> str:
    """The whole page for `runs` (oldest first, as history.load_runs gives them)."""
    points = trend_points(runs)
    body = [
        '<div class="apex" id="apex-trend">',
        f'<p class="quiet">{len(points)} runs from {escape(source or "history")}, '
        f"{escape(points[0]['started'] if points else '-')} to "
        f"{escape(points[-1]['started'] if points else '-')}.</p>",
        _legend(),
    ]
    for level in LEVELS:
        body.append(f'<h3 id="trend-{level}">{level} requirements</h3>')
        body.append(chart_svg(points, level))
    if runs:
        body.append(_flaky(history_section(runs[-1], runs[:-1], len(runs))))
    body.append(_table(points))
    body.append("</div>")
    return redact_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>ApexApi conformance trend</title>{STYLE}{STRIP_STYLE}{TREND_STYLE}</head>"
        f"<body><h1>ApexApi conformance trend</h1>{''.join(body)}</body></html>"
    )


def chart_svg(points: list[dict[str, Any]], level: str) -> str:
    """Stacked columns, one per run: how many requirements of `level` got each verdict."""
    n = max(len(points), 1)
    step = 22 if n <= 40 else max(4, 880 // n)
    bar = max(2, step - 4)
    width = max(320, _LEFT + n * step + 10)
    top = max((sum(p["totals"][level].values()) for p in points), default=0) or 1
    scale = _PLOT / top
    out = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{_HEIGHT}" viewBox="0 0 {width} {_HEIGHT}" role="img" '
        f'aria-label="{level} requirements per verdict, per run">',
        f'<line x1="{_LEFT - 4}" y1="{_TOP + _PLOT}" x2="{width - 6}" y2="{_TOP + _PLOT}" '
        'stroke="#b3b9c4"/>',
        f'<text x="{_LEFT - 8}" y="{_TOP + 4}" text-anchor="end">{top}</text>',
        f'<text x="{_LEFT - 8}" y="{_TOP + _PLOT}" text-anchor="end">0</text>',
    ]
    last_day, last_x = "", -float(_LABEL_ROOM)
    for i, point in enumerate(points):
        x = _LEFT + i * step
        y = float(_TOP + _PLOT)
        heights = _heights(point["totals"][level], scale)
        for word in _STACK:
            count = point["totals"][level][word]
            if not count:
                continue
            h = heights[word]
            y -= h
            out.append(
                f'<rect class="{word}" x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{_COLOURS[word]}"><title>{escape(point["started"])}: '
                f"{count} {word}</title></rect>"
            )
        day = point["started"][5:10]
        # A date under the first run of each day, where it has room: runs of one night
        # share one label instead of printing over each other.
        if day != last_day and x - last_x >= _LABEL_ROOM:
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{_TOP + _PLOT + 16}" text-anchor="middle">'
                f"{escape(day)}</text>"
            )
            last_day, last_x = day, x
    out.append("</svg>")
    return "".join(out)


def _heights(counts: dict[str, int], scale: float) -> dict[str, float]:
    """Each verdict's column height; one failure among fifty stays visible (at least
    _MIN px), taken from the tallest segment so the column keeps its height."""
    heights = {word: max(n * scale, _MIN) if n else 0.0 for word, n in counts.items()}
    excess = sum(heights.values()) - sum(counts.values()) * scale
    if excess > 0:
        tallest = max(heights, key=heights.__getitem__)
        heights[tallest] -= excess
    return heights


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{_COLOURS[word]}"></i>{word}</span>' for word in _STACK
    )
    return f'<div class="legend">{items}</div>'


def _flaky(history: dict[str, Any]) -> str:
    """The flaky requirements, judged among the runs like the newest one."""
    out = [
        '<h3 id="trend-flaky">Flaky requirements</h3>',
        '<p class="quiet">Verdicts that went from pass to fail and back among the runs with '
        "the newest run's suite version, target, profile and models.</p>",
    ]
    flaky = sorted({*history["flaky"], *history["flaky_models"]})
    if not flaky:
        return "".join([*out, '<p class="quiet">None.</p>'])
    out.append('<table class="flaky-list"><tr><th>ID</th><th>verdicts, oldest first</th></tr>')
    for req_id in flaky:
        models = history["flaky_models"].get(req_id)
        which = f'<div class="quiet">models: {escape(", ".join(models))}</div>' if models else ""
        strip = strip_html(history, req_id)
        out.append(f"<tr><td><b>{escape(req_id)}</b></td><td>{strip}{which}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _table(points: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{level}</th>" for level in LEVELS)
    out = [
        '<h3 id="trend-runs">Runs</h3><table class="runs"><tr><th>started</th><th>target</th>'
        f"<th>profile</th><th>suite</th><th>gate</th>{head}</tr>"
    ]
    for point in reversed(points):
        cells = "".join(
            "<td>"
            + "".join(
                f'<span class="n {word}" title="{word}">{point["totals"][level][word]}</span>'
                for word in _TABLE
                if point["totals"][level][word]
            )
            + "</td>"
            for level in LEVELS
        )
        out.append(
            f"<tr><td>{escape(point['started'])}</td><td>{escape(point['target'])}</td>"
            f"<td>{escape(point['profile'])}</td><td>{escape(point['suite_version'])}</td>"
            f'<td><span class="v {escape(point["overall"])}">{escape(point["overall"])}</span>'
            f"</td>{cells}</tr>"
        )
    out.append("</table>")
    return "".join(out)
