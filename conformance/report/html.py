"""The compliance matrix and run facts, rendered as the first section of the HTML report."""

from __future__ import annotations

from html import escape
from itertools import groupby

from conformance.catalogue import AREAS
from conformance.report.matrix import Row
from conformance.state import RunState

_STYLE = """
<style>
.apex{font:14px/1.45 system-ui,sans-serif;color:#1d2330;max-width:1200px}
.apex h2{font-size:20px;margin:18px 0 8px} .apex h3{font-size:16px;margin:16px 0 6px}
.apex .banner{padding:12px 16px;border-radius:6px;font-size:18px;font-weight:600;margin:8px 0 12px}
.apex .banner.passed{background:#e3f6e8;color:#14622d} .apex .banner.failed{background:#fde8e8;color:#9b1c1c}
.apex .banner.could-not-judge{background:#fff4d6;color:#7a5300}
.apex table{border-collapse:collapse;width:100%;margin:4px 0 10px}
.apex th,.apex td{border-bottom:1px solid #e3e6ec;padding:5px 8px;text-align:left;vertical-align:top}
.apex th{background:#f3f5f8;font-weight:600}
.apex .v{display:inline-block;min-width:62px;text-align:center;border-radius:4px;padding:1px 6px;
 font-weight:600;font-size:12px;text-transform:uppercase}
.apex .v.passed{background:#dcf3e3;color:#14622d} .apex .v.failed{background:#fcd9d9;color:#9b1c1c}
.apex .v.warned{background:#fff0c2;color:#7a5300} .apex .v.error{background:#f3d9fa;color:#6b1d84}
.apex .v.skipped{background:#eceef2;color:#596173} .apex .v.info{background:#dbe9fb;color:#1c4d8c}
.apex .v.waived{background:#e7e3fb;color:#4b3a94}
.apex .lvl{font-size:12px;font-weight:600;color:#596173} .apex .tests{font-size:12px;color:#596173}
.apex details{margin:4px 0} .apex summary{cursor:pointer;color:#1c4d8c}
.apex pre{background:#f6f8fa;border:1px solid #e3e6ec;padding:8px;white-space:pre-wrap;
 word-break:break-all;font-size:12px;max-height:420px;overflow:auto}
.apex .facts td:first-child{width:180px;color:#596173}
</style>
"""


def _badge(verdict: str) -> str:
    return f'<span class="v {escape(verdict)}">{escape(verdict)}</span>'


def _row(row: Row) -> str:
    tests = ", ".join(sorted({escape(c.nodeid.split("::")[-1]) for c in row.checks})) or escape(row.note)
    detail = ""
    bad = [c for c in row.checks if c.verdict in ("failed", "warned", "error")]
    for check in bad[:3]:
        parts = [f"<pre>{escape(check.message)}</pre>"]
        if check.transcript:
            parts.append(f"<b>Transcript</b> (Authorization redacted)<pre>{escape(check.transcript)}</pre>")
        if check.curl:
            parts.append(f"<b>Reproduce</b><pre>{escape(check.curl)}</pre>")
        name = escape(check.nodeid.split("::")[-1])
        detail += f"<details><summary>{check.verdict}: {name}</summary>{''.join(parts)}</details>"
    return (
        f'<tr id="req-{escape(row.id)}"><td><b>{escape(row.id)}</b></td>'
        f'<td class="lvl">{escape(row.level)}</td>'
        f"<td>{escape(row.requirement.rule)}{detail}</td>"
        f"<td>{_badge(row.verdict)}</td><td class=tests>{tests}</td></tr>"
    )


def matrix_html(state: RunState) -> str:
    matrix, facts = state.matrix, state.facts
    if matrix is None:
        return ""
    verdict = facts["overall"]
    words = {"passed": "PASSED", "failed": "FAILED", "could-not-judge": "COULD NOT JUDGE"}
    gate = "MUST and SHOULD" if facts["fail_on"] == "should" else "MUST"
    out = [_STYLE, '<div class="apex"><h2>Compliance matrix</h2>']
    out.append(
        f'<div class="banner {verdict}">Overall: {words[verdict]} '
        f"<small>(gate: {gate} requirements; target {escape(facts['target'])})</small></div>"
    )
    out.append("<table><tr><th>level</th>" + "".join(
        f"<th>{w}</th>" for w in ("passed", "failed", "warned", "error", "skipped", "info", "waived")
    ) + "</tr>")
    for level, counts in matrix.totals().items():
        cells = "".join(
            f"<td>{counts[w]}</td>" for w in ("passed", "failed", "warned", "error", "skipped", "info", "waived")
        )
        out.append(f"<tr><td><b>{level}</b></td>{cells}</tr>")
    out.append("</table>")
    for area, rows in groupby(matrix.rows, key=lambda r: r.requirement.area):
        out.append(f"<h3>{escape(AREAS.get(area, area))}</h3><table>")
        out.append("<tr><th>ID</th><th>level</th><th>rule</th><th>verdict</th><th>checks</th></tr>")
        out += [_row(row) for row in rows]
        out.append("</table>")
    out.append("<h3>Run</h3><table class=facts>")
    spent = facts["spend"]
    shown = {
        "target": facts["target"] + (" (embedded reference)" if facts["embedded"] else ""),
        "suite version": facts["suite_version"],
        "profile / fail-on": f"{facts['profile']} / {facts['fail_on']}",
        "seed": facts["seed"],
        "models": f"chat {facts['chat_model']}, image {facts['image_model']}",
        "model choice": "; ".join(facts["model_choice"]),
        "started / duration": f"{facts['started']} / {facts['duration_s']} s",
        "spent": f"{spent['requests']} requests (budget {facts['max_requests']}), "
        f"{spent['prompt_tokens']} prompt + {spent['completion_tokens']} completion tokens, "
        f"{spent['images']} images",
        "estimated cost": facts["estimated_cost"] or "n/a",
    }
    out += [f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in shown.items()]
    out.append("</table></div>")
    return "".join(out)
