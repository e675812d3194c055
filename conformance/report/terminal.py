"""The compliance summary printed at the end of a run."""

from __future__ import annotations

import re
from typing import Any

from conformance.report.diff import is_empty, other_changes
from conformance.report.load import load_sentence
from conformance.report.matrix import Matrix
from conformance.report.records import TestRecord
from conformance.transport.redact import redact_text
from conformance.vocabulary import LEVELS, headline


def _models_line(summary: dict[str, Any]) -> str:
    facts = summary["run"]
    entries = summary.get("models") or []
    if facts.get("models", "cheapest") == "cheapest" or not entries:
        return f"models: chat {facts['chat_model']}, image {facts['image_model']}"
    bad = [m["id"] for m in entries if m["verdict"] in ("failed", "warned")]
    unjudged = [m["id"] for m in entries if m["unjudged"]]
    line = f"models: {len(entries)} selected (--models={facts['models']})"
    line += f"; failing: {', '.join(bad)}" if bad else ""
    return line + (f"; not judged: {', '.join(unjudged)}" if unjudged else "")


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """Totals, what went wrong, waivers, the diff, spend and the overall verdict."""
    facts, gate = summary["run"], summary["gate"]
    overall = (
        f"overall: {headline(gate['verdict'])} (exit {gate['exit_code']})  "
        f"reports: {facts['report_dir']}/"
    )
    if facts.get("stopped") and not summary["checks"]:
        # Nothing ran: the one message that says what to do, not a matrix of errors.
        return [redact_text(f"apex-conformance: {facts['stopped']}"), overall]
    lines = [f"target: {facts['target']}  profile: {facts['profile']}  fail-on: {facts['fail_on']}"]
    lines += _matrix_lines(Matrix.from_summary(summary))
    lines += _waiver_lines(summary["waivers"])
    if summary["diff"] is not None:
        lines += diff_lines(summary["diff"])
    spent = facts["spend"]
    lines.append(
        f"spent: {spent['requests']} requests, {spent['prompt_tokens']} prompt + "
        f"{spent['completion_tokens']} completion tokens, {spent['images']} images"
        + _retries(spent.get("connection_retries", 0))
    )
    lines += _load_lines(facts.get("load"))
    lines.append(_models_line(summary))
    lines.append(overall)
    for reason in gate["reasons"]:
        first, *rest = reason.splitlines()
        lines += [f"  because {first}", *(f"    {line}" for line in rest)]
    # Messages quote target responses; redact once more so no line can carry the key.
    return [redact_text(line) for line in lines]


def _retries(count: int) -> str:
    return f" ({count} requests resent on a fresh connection)" if count else ""


def _load_lines(load: dict[str, Any] | None) -> list[str]:
    """What the target sustained, when the run had to hold back or send again."""
    if not load or not (load["decreases"] or load["sent_again_alone"]):
        return []
    return [load_sentence(load)]


def _matrix_lines(matrix: Matrix) -> list[str]:
    lines = []
    for level, counts in matrix.totals().items():
        shown = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
        lines.append(f"{level:6} {shown or 'none'}")
    # MUST before SHOULD, failures before errors: what breaks the gate comes first.
    rows = sorted(
        matrix.with_verdict("failed", "warned", "waived"),
        key=lambda r: (LEVELS.index(r.level), _ORDER.index(r.verdict)),
    )
    for row in rows:
        lines.append(f"  {row.verdict.upper():6} {row.id} [{row.level}] {row.requirement.rule}")
        if row.waiver is not None:
            w = row.waiver
            link = f" {w.link}" if w.link else ""
            lines.append(
                f"         {row.waived_verdict}; waived until {w.expires}: {w.reason}{link}"
            )
            continue
        bad = [c for c in row.checks if c.verdict == row.verdict]
        for check in bad[:_CHECKS_SHOWN]:
            message = check.message.splitlines()[0][:140] if check.message else ""
            lines.append(f"         {_check_name(check)}: {message}")
        if len(bad) > _CHECKS_SHOWN:
            lines.append(f"         ... and {len(bad) - _CHECKS_SHOWN} more checks")
        if not bad and row.note:
            lines.append(f"         {row.note.splitlines()[0][:160]}")
    return lines + _unjudged_lines(matrix)


def _unjudged_lines(matrix: Matrix) -> list[str]:
    """The requirements no check could judge, one entry per cause: a spent budget or a
    dead target leaves hundreds of checks with the same few messages."""
    causes: dict[str, tuple[str, list[str]]] = {}
    for row in matrix.with_verdict("error"):
        messages = [c.message for c in row.checks if c.verdict == "error"] or [row.note]
        for message in messages:
            first = (message or "no message").splitlines()[0][:160]
            shown, ids = causes.setdefault(_cause(first), (first, []))
            if row.id not in ids:
                ids.append(row.id)
    lines = []
    for shown, ids in causes.values():
        more = f" and {len(ids) - _IDS_SHOWN} more" if len(ids) > _IDS_SHOWN else ""
        lines.append(f"  ERROR  {len(ids)} not judged: {shown}")
        lines.append(f"         {', '.join(ids[:_IDS_SHOWN])}{more}")
    return lines


def _cause(message: str) -> str:
    """What a message says with the URLs and figures of its one request left out."""
    return re.sub(r"https?://\S+|\d+(\.\d+)?", "#", message)


_ORDER = ("failed", "warned", "waived")
_CHECKS_SHOWN = 3
_IDS_SHOWN = 12


def _check_name(check: TestRecord) -> str:
    """The check's stable ID when it has one, else its test node without the folder."""
    return check.check or check.nodeid.rsplit("/", 1)[-1]


def _waiver_lines(results: list[dict[str, Any]]) -> list[str]:
    problems = [r for r in results if r["status"] in ("expired", "stale", "unknown")]
    unused = [r for r in results if r["status"] == "unused"]
    lines = [f"  WAIVER {r['status'].upper()}: {r['message']}" for r in problems]
    lines += [f"  waiver unused: {r['message']}" for r in unused]
    return lines


def diff_lines(diff: dict[str, Any]) -> list[str]:
    """The --compare section, one line per kind of change."""
    lines = [
        f"compared with {diff['previous']} (run {diff['previous_run'].get('started') or '?'}):"
    ]
    if is_empty(diff):
        return [*lines, "  no requirement changed verdict or level"]
    changes = {c["id"]: c for c in diff["changed"]}

    def change(c: dict[str, Any]) -> str:
        return f"{c['id']} ({c['before']} -> {c['after']})"

    labelled = (
        ("newly failing", [change(changes[i]) for i in diff["newly_failing"]]),
        ("newly passing", [change(changes[i]) for i in diff["newly_passing"]]),
        ("other changes", [change(c) for c in other_changes(diff)]),
        ("level changed", [change(c) for c in diff["level_changed"]]),
        ("added", diff["added"]),
        ("removed", diff["removed"]),
    )
    return lines + [f"  {label}: {', '.join(items)}" for label, items in labelled if items]
