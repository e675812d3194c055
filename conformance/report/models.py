"""Verdicts per model (summary.json `models`) and the HTML's requirement x model matrix.

A model-dependent check runs once per selected model; its records carry the model. A model
the run selected but could not judge is listed as such, never as passing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from html import escape
from itertools import groupby
from typing import Any

from conformance.catalogue import AREAS, requirements
from conformance.report.records import TestRecord
from conformance.transport.redact import redact_text
from conformance.vocabulary import VERDICT_WORDS, combine

# The API surface each model-dependent area exercises: a chat model or an image model.
SURFACES = {"chat": "chat", "streaming": "chat", "images": "image"}
JUDGED = ("passed", "failed", "warned", "info")
BAD = ("failed", "warned", "error")
NO_CHECK = "no check ran for this model"
_TITLE_CHECKS = 12


def provider(model: str) -> str:
    """The route's provider: the part of the id before "/", or ""."""
    head, slash, _ = model.partition("/")
    return head if slash else ""


def model_entries(
    records: list[TestRecord], selected: list[tuple[str, str]], unjudged: dict[str, str]
) -> list[dict[str, Any]]:
    """summary.json's `models`: the selected models (id, surface) in their order, then any
    other model a record names; `unjudged` maps the ones the run could not judge (budget,
    --max-cost) to why."""
    by_model: dict[str, list[TestRecord]] = {}
    for record in records:
        if record.model:
            by_model.setdefault(record.model, []).append(record)
    surfaces = dict(selected)
    for model, mine in by_model.items():
        surfaces.setdefault(model, _surface(mine))
    for model in unjudged:
        # Listed even if the caller did not select it: an unjudged model is never dropped.
        surfaces.setdefault(model, "chat")
    return [
        _entry(model, surface, by_model.get(model, []), unjudged.get(model))
        for model, surface in surfaces.items()
    ]


def _surface(records: list[TestRecord]) -> str:
    catalogue = requirements()
    areas = {catalogue[r].area for c in records for r in c.requirements if r in catalogue}
    return "image" if "images" in areas else "chat"


def _entry(
    model: str, surface: str, checks: list[TestRecord], reason: str | None
) -> dict[str, Any]:
    verdicts = [c.verdict for c in checks]
    # A model the run could not finish is at best "error": what ran cannot vouch for the rest.
    verdict = combine([*verdicts, "error"] if reason is not None else verdicts)
    if reason is None:
        # A check in error (budget, --max-cost, timeouts) leaves the model not fully judged.
        reason = next((c.message for c in checks if c.verdict == "error"), None)
    if reason is None and not any(v in JUDGED for v in verdicts):
        reason = next((c.message for c in checks if c.verdict == "skipped" and c.message), NO_CHECK)
    per_requirement = requirement_verdicts(checks)
    counts = Counter(verdicts)
    return {
        "id": model,
        "provider": provider(model),
        "surface": surface,
        "verdict": verdict,
        "requirements": per_requirement,
        "failed": [r for r, v in per_requirement.items() if v in ("failed", "warned")],
        "checks": {word: counts[word] for word in VERDICT_WORDS},
        "unjudged": reason is not None,
        "reason": reason or "",
    }


def requirement_verdicts(checks: Iterable[TestRecord]) -> dict[str, str]:
    """Each requirement's verdict over these checks, as the matrix combines them, in
    catalogue order."""
    by_id: dict[str, list[str]] = {}
    for check in checks:
        for req_id in check.requirements:
            by_id.setdefault(req_id, []).append(check.verdict)
    catalogue = requirements()
    order = {req_id: i for i, req_id in enumerate(catalogue)}
    verdicts = {}
    for req_id in sorted(by_id, key=lambda r: (order.get(r, len(order)), r)):
        verdict = combine(by_id[req_id])
        req = catalogue.get(req_id)
        if req is not None and req.level == "INFO" and verdict not in ("error", "skipped"):
            verdict = "info"
        verdicts[req_id] = verdict
    return verdicts


# --- HTML -----------------------------------------------------------------------------

MODELS_STYLE = """<style>
.apex .models-wrap{overflow-x:auto}
.apex table.models{width:auto} .apex table.models td,.apex table.models th{text-align:center}
.apex table.models td:first-child,.apex table.models th.req{text-align:left;white-space:nowrap}
.apex table.models .edge{border-left:2px solid #c9ced8}
.apex table.models th.model{font-weight:500;font-size:12px;max-width:140px;word-break:break-word}
.apex table.models tr.area th{background:#fff;text-align:left;padding-top:10px}
.apex table.models a.v{text-decoration:none}
.apex table.models .na{color:#b3b9c4}
.apex .v.nj{background:#fff4d6;color:#7a5300}
.apex ul.unjudged{margin:4px 0;padding-left:20px}
</style>"""


def models_html(summary: dict[str, Any]) -> str:
    """The requirement x model matrix from summary.json alone; "" unless some surface
    (chat or image) had several models, as a run of the cheapest model of each does not."""
    models = _grouped(summary.get("models") or [])
    if max(Counter(m["surface"] for m in models).values(), default=0) < 2:
        return ""
    out = [
        MODELS_STYLE,
        '<div class="apex" id="apex-models"><h2>Requirements per model</h2>',
        _unjudged(models),
        '<div class="models-wrap"><table class="models">',
        _head(models),
    ]
    failing = _failing_checks(summary.get("checks") or [])
    shown = {r for m in models for r in m["requirements"]}
    rows = [r for r in summary["requirements"] if r["id"] in shown]
    for area, group in groupby(rows, key=lambda r: r["area"]):
        out.append(
            f'<tr class="area"><th colspan="{len(models) + 1}">'
            f"{escape(AREAS.get(area, area))}</th></tr>"
        )
        out.extend(_row(row, models, failing) for row in group)
    out.append("</table></div></div>")
    return redact_text("".join(out))


def _grouped(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Models of one provider side by side, providers in order of first appearance."""
    first: dict[str, int] = {}
    for i, m in enumerate(models):
        first.setdefault(m["provider"], i)
    return sorted(models, key=lambda m: first[m["provider"]])


def _edges(models: list[dict[str, Any]]) -> list[str]:
    """The class of each model's column: "edge" where a provider's group begins."""
    return [
        "edge" if i == 0 or m["provider"] != models[i - 1]["provider"] else ""
        for i, m in enumerate(models)
    ]


def _class(name: str) -> str:
    return f' class="{name}"' if name else ""


def _head(models: list[dict[str, Any]]) -> str:
    groups = "".join(
        f'<th class="provider edge" colspan="{len(list(group))}">'
        f"{escape(name or '(no provider)')}</th>"
        for name, group in groupby(models, key=lambda m: m["provider"])
    )
    cells = []
    for m, edge in zip(models, _edges(models), strict=True):
        name = m["id"].partition("/")[2] or m["id"]
        word, extra = ("not judged", " nj") if m["unjudged"] else (m["verdict"], "")
        tip = f"{m['id']} ({m['surface']}): {m['reason'] or m['verdict']}"
        cells.append(
            f'<th class="model {edge}" title="{escape(tip)}" data-model="{escape(m["id"])}">'
            f'{escape(name)}<br><span class="v {escape(m["verdict"])}{extra}">{escape(word)}'
            "</span></th>"
        )
    return f'<tr><th class="req" rowspan="2">requirement</th>{groups}</tr><tr>{"".join(cells)}</tr>'


def _row(
    row: dict[str, Any], models: list[dict[str, Any]], failing: dict[tuple[str, str], list[str]]
) -> str:
    req_id = row["id"]
    cells = [
        f'<td><a href="#req-{escape(req_id)}">{escape(req_id)}</a> '
        f'<span class="lvl">{escape(row["level"])}</span></td>'
    ]
    for m, edge in zip(models, _edges(models), strict=True):
        cells.append(f"<td{_class(edge)}>{_cell(req_id, row['area'], m, failing)}</td>")
    return f'<tr data-req="{escape(req_id)}">{"".join(cells)}</tr>'


def _cell(
    req_id: str, area: str, model: dict[str, Any], failing: dict[tuple[str, str], list[str]]
) -> str:
    verdict = model["requirements"].get(req_id)
    if verdict is None:
        if model["unjudged"] and SURFACES.get(area) == model["surface"]:
            return f'<span class="v skipped nj" title="{escape(model["reason"])}">not judged</span>'
        return '<span class="na" title="no check of it ran for this model">&ndash;</span>'
    checks = failing.get((model["id"], req_id), [])
    shown = "\n".join(checks[:_TITLE_CHECKS])
    more = f"\n... and {len(checks) - _TITLE_CHECKS} more" if len(checks) > _TITLE_CHECKS else ""
    tip = f"{model['id']}: {req_id} {verdict}" + (f"\n{shown}{more}" if checks else "")
    return (
        f'<a class="v {escape(verdict)}" href="#req-{escape(req_id)}" '
        f'title="{escape(tip)}">{escape(verdict)}</a>'
    )


def _failing_checks(checks: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(model, requirement) -> the check IDs of that model's checks that did not pass."""
    found: dict[tuple[str, str], list[str]] = {}
    for c in checks:
        if c.get("model") and c["verdict"] in BAD:
            for req_id in c["requirements"]:
                found.setdefault((c["model"], req_id), []).append(c["check"] or c["nodeid"])
    return found


def _unjudged(models: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li><b>{escape(m['id'])}</b>: {escape(m['reason'])}</li>" for m in models if m["unjudged"]
    )
    if not items:
        return ""
    return f'<p>Not judged, so never counted as passing:</p><ul class="unjudged">{items}</ul>'
