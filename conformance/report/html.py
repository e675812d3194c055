"""The first section of the HTML report: gate, compliance matrix, waivers, diff, run facts."""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from itertools import groupby
from typing import Any

from conformance.catalogue import AREAS
from conformance.report.diff import is_empty, other_changes
from conformance.report.history import STRIP_STYLE, strip_html
from conformance.report.latency import latency_html
from conformance.report.load import load_sentence
from conformance.report.matrix import Matrix, Row
from conformance.report.models import models_html
from conformance.report.records import TestRecord
from conformance.transport.redact import redact_text
from conformance.vocabulary import LEVELS, VERDICT_WORDS, headline

_BAD = ("failed", "warned", "error")
_FAULTS_SHOWN = 6

# pytest-html puts its Environment table first; flex order moves this section (in
# .summary) to the top and the environment below the results, without touching its DOM.
STYLE = """<style>
body{display:flex;flex-direction:column}
body>h1,body>p{order:0} body>.summary{order:1} #results-table{order:2}
#environment-header,#environment{order:3} body>footer{order:4}
.summary__data>h2{display:none} .summary__data{max-width:none}
.apex{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;max-width:1240px}
.apex h2{font-size:20px;margin:14px 0 8px} .apex h3{font-size:16px;margin:20px 0 6px}
.apex h2.all-checks{margin-top:28px;border-top:1px solid #d5d9e0;padding-top:14px}
.apex a{color:#1c4d8c}
.apex .banner{padding:12px 16px;border-radius:6px;margin:8px 0 12px;border-left:6px solid}
.apex .banner .headline{font-size:20px;font-weight:700}
.apex .banner .gate{font-size:13px;opacity:.85}
.apex .banner ul{margin:6px 0 0;padding-left:20px} .apex .banner li{white-space:pre-wrap}
.apex .banner.passed{background:#e3f6e8;color:#14622d}
.apex .banner.failed{background:#fde8e8;color:#9b1c1c}
.apex .banner.could-not-judge,.apex .banner.not-judged,.apex .banner.interrupted,
.apex .banner.usage-error,.apex .banner.internal-error{background:#fff4d6;color:#7a5300}
.apex table{border-collapse:collapse;width:100%;margin:4px 0 10px}
.apex th,.apex td{border-bottom:1px solid #e3e6ec;padding:5px 8px;text-align:left;
 vertical-align:top}
.apex th{background:#f3f5f8;font-weight:600}
.apex table.totals{width:auto} .apex table.totals td{text-align:center;min-width:64px}
.apex table.totals td.zero{color:#b3b9c4}
.apex table.matrix{table-layout:fixed}
.apex col.c-id{width:104px} .apex col.c-lvl{width:70px} .apex col.c-v{width:96px}
.apex col.c-checks{width:300px}
.apex tr.r-failed>td:first-child{box-shadow:inset 4px 0 #d93636}
.apex tr.r-warned>td:first-child{box-shadow:inset 4px 0 #e0a800}
.apex tr.r-error>td:first-child{box-shadow:inset 4px 0 #9c3cc0}
.apex tr.r-waived>td:first-child{box-shadow:inset 4px 0 #7b68c8}
.apex tr.detail>td{background:#fbfbfd;padding-top:0}
.apex .v{display:inline-block;min-width:62px;text-align:center;border-radius:4px;padding:1px 6px;
 font-weight:600;font-size:12px;text-transform:uppercase}
.apex .v.passed{background:#dcf3e3;color:#14622d} .apex .v.failed{background:#fcd9d9;color:#9b1c1c}
.apex .v.warned{background:#fff0c2;color:#7a5300} .apex .v.error{background:#f3d9fa;color:#6b1d84}
.apex .v.skipped{background:#eceef2;color:#596173} .apex .v.info{background:#dbe9fb;color:#1c4d8c}
.apex .v.waived{background:#e7e3fb;color:#4b3a94}
.apex .lvl{font-size:12px;font-weight:600;color:#596173}
.apex table.matrix td:first-child{white-space:nowrap}
.apex .checks{font-size:12px;color:#3d4555;word-break:break-word}
.apex .quiet,.apex .proof{color:#7a8292;font-size:12px}
.apex .waiver{font-size:12px;color:#4b3a94;margin-top:2px}
.apex ul.attention{list-style:none;padding:0;margin:4px 0}
.apex ul.attention li{margin:3px 0}
.apex details{margin:6px 0} .apex summary{cursor:pointer;color:#1c4d8c;font-size:13px}
.apex .label{font-weight:600;font-size:12px;margin-top:6px}
.apex pre{background:#f6f8fa;border:1px solid #e3e6ec;border-radius:4px;padding:8px;margin:4px 0;
 white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;max-height:480px;overflow:auto}
.apex pre.msg{background:#fff6f6;border-color:#f3caca} .apex pre.transcript{max-height:none}
.apex pre .req{color:#1c4d8c} .apex pre .res{color:#14622d}
.apex .facts td:first-child{width:200px;color:#596173}
.apex table.diff td:first-child{width:140px;font-weight:600}
.apex table.waivers td:first-child,.apex table.waivers td:nth-child(4){white-space:nowrap}
</style>"""


def matrix_html(summary: dict[str, Any]) -> str:
    """The whole section, from summary.json alone; every piece of text is escaped and redacted."""
    matrix = Matrix.from_summary(summary)
    out = [STYLE, '<div class="apex" id="apex-compliance">', "<h2>Compliance matrix</h2>"]
    out.append(banner_html(summary))
    out.append(_totals(matrix))
    out.append(_attention(matrix))
    out.append(_waivers(summary["waivers"]))
    if summary["diff"] is not None:
        out.append(_diff(summary["diff"]))
    out.append(models_html(summary))
    history = summary.get("history")
    if history:
        out.append(STRIP_STYLE)
    for area, rows in groupby(matrix.rows, key=lambda r: r.requirement.area):
        out.append(f'<h3 id="area-{escape(area)}">{escape(AREAS.get(area, area))}</h3>')
        out.append(
            '<table class="matrix"><colgroup><col class="c-id"><col class="c-lvl"><col>'
            '<col class="c-v"><col class="c-checks"></colgroup>'
            "<tr><th>ID</th><th>level</th><th>rule</th><th>verdict</th><th>checks</th></tr>"
        )
        for row in rows:
            out.append(_row(row, history))
        out.append("</table>")
    out.append(latency_html(summary))
    out.append(_facts(summary))
    out.append('<h2 class="all-checks">All checks</h2></div>')
    return redact_text("".join(out))


def standalone_html(summary: dict[str, Any]) -> str:
    """A whole page from summary.json: the matrix, then every check that did not pass."""
    checks = [TestRecord(**c) for c in summary["checks"]]
    shown = [c for c in checks if c.verdict in (*_BAD, "info")]
    details = "".join(_check_detail(c) for c in shown) or '<p class="quiet">None.</p>'
    return page(f'{matrix_html(summary)}<div class="apex">{details}</div>')


# The page's own heading sits outside .apex: without this it falls back to a serif font.
PAGE_FONT = "<style>body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif}</style>"


def page(body: str) -> str:
    """A whole, self-contained report page around `body` (already escaped)."""
    return redact_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>ApexApi compliance report</title>{STYLE}{PAGE_FONT}</head><body>"
        f"<h1>ApexApi compliance report</h1>{body}</body></html>"
    )


def _link(req_id: str) -> str:
    return f'<a href="#req-{escape(req_id)}">{escape(req_id)}</a>'


def _badge(verdict: str) -> str:
    return f'<span class="v {escape(verdict)}">{escape(verdict)}</span>'


def banner_html(summary: dict[str, Any]) -> str:
    """The overall outcome; amber whenever the run could not judge what the gate covers."""
    gate, target = summary["gate"], summary["run"]["target"]
    levels = " and ".join(gate["gated_levels"][::-1])
    failed, unjudged = gate["failed"], gate.get("not_judged", [])
    title = headline(gate["verdict"])
    if failed:
        title += f": {len(failed)} {levels} requirement{'s' * (len(failed) > 1)} failed"
    elif unjudged and gate["verdict"] == "not-judged":
        title += f": {len(unjudged)} {levels} requirement{'s' * (len(unjudged) > 1)} not judged"
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in gate["reasons"])
    return (
        f'<div class="banner {escape(gate["verdict"])}" id="apex-overall">'
        f'<div class="headline">Overall: {escape(title)}</div>'
        f"<div class=gate>gate: {escape(levels)} requirements "
        f"(--fail-on={escape(gate['fail_on'])}); "
        f"exit status {gate['exit_code']}; target {escape(str(target))}</div>"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}</div>"
    )


def _totals(matrix: Matrix) -> str:
    head = "".join(f"<th>{_badge(word)}</th>" for word in VERDICT_WORDS)
    out = [f'<table class="totals"><tr><th>level</th>{head}<th>total</th></tr>']
    for level, counts in matrix.totals().items():
        cells = "".join(
            f'<td class="{"zero" if not counts[w] else ""}">{counts[w]}</td>' for w in VERDICT_WORDS
        )
        out.append(f"<tr><td><b>{level}</b></td>{cells}<td>{sum(counts.values())}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _attention(matrix: Matrix) -> str:
    rows = sorted(
        matrix.with_verdict(*_BAD, "waived"),
        key=lambda r: (VERDICT_WORDS.index(r.verdict), LEVELS.index(r.level)),
    )
    if not rows:
        return '<p class="quiet">Nothing failed, warned or errored.</p>'
    items = "".join(
        f"<li>{_badge(r.verdict)} {_link(r.id)} "
        f'<span class="lvl">{escape(r.level)}</span> {escape(r.requirement.rule)}</li>'
        for r in rows
    )
    return f'<h3>Needs attention</h3><ul class="attention">{items}</ul>'


def _waivers(results: list[dict[str, Any]]) -> str:
    if not results:
        return ""
    out = [
        '<h3 id="apex-waivers">Waivers</h3><table class="waivers"><tr><th>ID</th><th>status</th>'
        "<th>reason</th><th>expires</th><th>what happened</th></tr>"
    ]
    for r in results:
        link = f' <a href="{escape(r["link"])}">{escape(r["link"])}</a>' if r["link"] else ""
        status = (
            "waived"
            if r["status"] == "applied"
            else "failed"
            if r["status"] != "unused"
            else "skipped"
        )
        out.append(
            f'<tr class="w-{escape(r["status"])}"><td>{_link(r["id"])}</td>'
            f'<td><span class="v {status}">{escape(r["status"])}</span></td>'
            f"<td>{escape(r['reason'])}{link}</td><td>{escape(r['expires'])}</td>"
            f"<td>{escape(r['message'])}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _diff(diff: dict[str, Any]) -> str:
    run = diff["previous_run"]
    since = (
        f"{escape(diff['previous'])} (run {escape(str(run.get('started') or '?'))}, "
        f"target {escape(str(run.get('target') or '?'))})"
    )
    out = [
        '<h3 id="apex-diff">Changes since the previous run</h3>',
        f'<p class="quiet">Compared with {since}.</p>',
    ]
    if is_empty(diff):
        return "".join([*out, '<p class="quiet">No requirement changed verdict or level.</p>'])
    changes = {c["id"]: c for c in diff["changed"]}

    def verdict_change(req_id: str) -> str:
        c = changes[req_id]
        return f"{_link(req_id)} {_badge(c['before'])} &rarr; {_badge(c['after'])}"

    sections = (
        ("newly failing", [verdict_change(i) for i in diff["newly_failing"]]),
        ("newly passing", [verdict_change(i) for i in diff["newly_passing"]]),
        ("other changes", [verdict_change(c["id"]) for c in other_changes(diff)]),
        (
            "level changed",
            [
                f"{escape(c['id'])} {escape(c['before'])} &rarr; {escape(c['after'])}"
                for c in diff["level_changed"]
            ],
        ),
        ("added", [escape(i) for i in diff["added"]]),
        ("removed", [escape(i) for i in diff["removed"]]),
    )
    out.append('<table class="diff">')
    for label, items in sections:
        if items:
            out.append(
                f'<tr class="d-{label.replace(" ", "-")}">'
                f"<td>{label}</td><td>{'; '.join(items)}</td></tr>"
            )
    out.append("</table>")
    return "".join(out)


def _checks_cell(row: Row) -> str:
    """Test functions behind the row, parametrized cases counted rather than listed."""
    if not row.checks:
        return f'<span class="quiet">{escape(row.note)}</span>'
    names = Counter(c.nodeid.split("::")[-1].split("[")[0] for c in row.checks)
    return "<br>".join(
        f"{escape(name)}" + (f' <span class="quiet">&times;{n}</span>' if n > 1 else "")
        for name, n in sorted(names.items())
    )


def _rule_cell(row: Row) -> str:
    # Every MUST and SHOULD requirement has its faults (tests/test_catalogue.py); INFO none.
    faults = row.requirement.proven_by
    shown = ", ".join(faults[:_FAULTS_SHOWN])
    if len(faults) > _FAULTS_SHOWN:
        shown += f" and {len(faults) - _FAULTS_SHOWN} more"
    proof = f'<div class="proof">proven by: {escape(shown)}</div>' if faults else ""
    waiver = ""
    if row.waiver is not None:
        w = row.waiver
        link = f' &middot; <a href="{escape(w.link)}">{escape(w.link)}</a>' if w.link else ""
        waiver = (
            f'<div class="waiver">{escape(row.waived_verdict)}, waived until '
            f"{w.expires.isoformat()}: {escape(w.reason)}{link}</div>"
        )
    note = f'<div class="quiet">{escape(row.note)}</div>' if row.note and row.checks else ""
    rule = f'<span title="{escape(row.requirement.source)}">{escape(row.requirement.rule)}</span>'
    return f"{rule}{waiver}{note}{proof}"


def _row(row: Row, history: dict[str, Any] | None) -> str:
    strip = f"<br>{strip_html(history, row.id)}" if history else ""
    cells = (
        f'<tr id="req-{escape(row.id)}" class="r-{escape(row.verdict)}">'
        f"<td><b>{escape(row.id)}</b></td><td class=lvl>{escape(row.level)}</td>"
        f"<td>{_rule_cell(row)}</td><td>{_badge(row.verdict)}{strip}</td>"
        f"<td class=checks>{_checks_cell(row)}</td></tr>"
    )
    bad = [c for c in row.checks if c.verdict in _BAD]
    if not bad:
        return cells
    shown = "".join(_check_detail(c) for c in bad[:3])
    more = (
        f'<p class="quiet">{len(bad) - 3} more in "All checks" below.</p>' if len(bad) > 3 else ""
    )
    return f'{cells}<tr class="detail"><td></td><td colspan=4>{shown}{more}</td></tr>'


def _check_detail(check: TestRecord) -> str:
    parts = [f'<pre class="msg">{escape(check.message)}</pre>'] if check.message else []
    if check.transcript:
        parts.append(
            f'<div class="label">Transcript <span class="quiet">(credentials shown as [REDACTED])'
            f'</span></div><pre class="transcript">{transcript_html(check.transcript)}</pre>'
        )
    if check.curl:
        parts.append(
            f'<div class="label">Reproduce</div><pre class="curl">{escape(check.curl)}</pre>'
        )
    if check.exchanges:
        # The recording of the run (conformance.har, recording.har.gz) names them `_apexId`.
        ids = ", ".join(f"<code>{escape(i)}</code>" for i in check.exchanges)
        parts.append(
            f'<div class="label">HAR entries <span class="quiet">(_apexId in '
            f'<a href="conformance.har">conformance.har</a> and recording.har.gz)</span></div>'
            f'<p class="har">{ids}</p>'
        )
    opened = " open" if check.verdict in ("failed", "error") else ""
    return (
        f"<details{opened}><summary>{_badge(check.verdict)} {escape(check.nodeid)}</summary>"
        f"{''.join(parts)}</details>"
    )


def transcript_html(text: str) -> str:
    """Request lines (>) and response lines (<) told apart; JSON bodies pretty-printed."""
    out = []
    for line in text.splitlines():
        marker, _, rest = line.partition(" ")
        if marker in (">", "<") and rest[:1] in ("{", "["):
            try:
                pretty = _pretty(json.loads(rest))
            except ValueError:
                pretty = rest
            body = "\n".join(f"{marker} {part}" for part in pretty.splitlines())
            out.append(f'<span class="{"req" if marker == ">" else "res"}">{escape(body)}</span>')
        elif line.startswith((">", "<")):
            out.append(f'<span class="{"req" if line[0] == ">" else "res"}">{escape(line)}</span>')
        else:
            out.append(escape(line))
    return "\n".join(out)


def _pretty(value: Any, indent: str = "", width: int = 96) -> str:
    """JSON indented only where the one-line form is too long to read."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(indent) + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner, width)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    items = [inner + _pretty(v, inner, width) for v in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]"


def _retries(count: int) -> str:
    """The resends on a fresh connection (a reused one was closed), when there were any."""
    return f", {count} of them resent on a fresh connection" if count else ""


def _facts(summary: dict[str, Any]) -> str:
    facts = summary["run"]
    spent = facts["spend"]
    shown = {
        "target": facts["target"] + (" (embedded reference)" if facts["embedded"] else ""),
        "suite version": facts["suite_version"],
        "profile": facts["profile"],
        "fail-on": facts["fail_on"],
        "seed": facts["seed"],
        "models used": f"chat {facts['chat_model']}, image {facts['image_model']}",
        "how models were chosen": "; ".join(facts["model_choice"]) or "n/a",
        "started": facts["started"],
        "duration": f"{facts['duration_s']} s"
        + (f" ({facts['workers']} workers)" if facts["workers"] > 1 else ""),
        "requests": f"{spent['requests']} (budget {facts['max_requests']})"
        + _retries(spent.get("connection_retries", 0)),
        "tokens": f"{spent['prompt_tokens']} prompt + {spent['completion_tokens']} completion",
        "images": spent["images"],
        "load": load_sentence(facts["load"]) if facts.get("load") else "n/a",
        "estimated cost": facts["estimated_cost"] or "n/a",
        "waivers file": facts.get("waivers_file") or "none",
        "compared with": (summary["diff"] or {}).get("previous") or "none",
    }
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in shown.items()
    )
    return f'<h3 id="apex-run">Run</h3><table class="facts">{rows}</table>'
