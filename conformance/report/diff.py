"""What changed since a previous run (`--compare PREVIOUS_summary.json`), by requirement ID
and, for model-dependent checks, by requirement and model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.vocabulary import combine

# A requirement "fails" in a run when it shows one of these: a waived failure is still news.
FAILING = frozenset({"failed", "warned", "waived"})
# A check is never `waived` (waivers act on requirement rows).
_CHECK_FAILING = frozenset({"failed", "warned"})


class CompareFileError(ValueError):
    """The previous summary cannot be read; the message says why."""


def load_previous(path: str | Path) -> dict[str, Any]:
    """A previous summary.json, checked for the keys the diff needs."""
    source = Path(path)
    try:
        data = json.loads(source.read_text("utf-8"))
    except OSError as exc:
        raise CompareFileError(
            f"--compare {source}: cannot read the file ({exc.strerror})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise CompareFileError(f"--compare {source}: not JSON ({exc})") from exc
    rows = data.get("requirements") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and {"id", "level", "verdict"} <= row.keys() for row in rows
    ):
        raise CompareFileError(
            f"--compare {source}: not an apex-conformance summary.json "
            '(expected "requirements": [{"id", "level", "verdict", ...}])'
        )
    previous: dict[str, Any] = data
    return previous


def diff_summaries(
    previous: dict[str, Any],
    current: list[dict[str, Any]],
    source: str = "",
    checks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Requirements that newly fail, newly pass, changed verdict or level; IDs added and removed.

    With the current run's `checks` (summary.json's), `by_model` says the same per
    requirement and model, so a requirement that newly fails for one model is news even
    while it already failed for another.
    """
    before = {str(row["id"]): row for row in previous["requirements"]}
    now = {str(row["id"]): row for row in current}
    changed = []
    for req_id, row in now.items():
        old = before.get(req_id)
        if old is not None and old["verdict"] != row["verdict"]:
            changed.append(
                {
                    "id": req_id,
                    "level": row["level"],
                    "before": old["verdict"],
                    "after": row["verdict"],
                }
            )
    run = previous.get("run")
    run = run if isinstance(run, dict) else {}
    return {
        "previous": source,
        "previous_run": {
            key: run.get(key) for key in ("started", "target", "suite_version", "profile")
        },
        "newly_failing": [
            c["id"] for c in changed if c["after"] in FAILING and c["before"] not in FAILING
        ],
        "newly_passing": [
            c["id"] for c in changed if c["after"] == "passed" and c["before"] != "skipped"
        ],
        "level_changed": [
            {"id": req_id, "before": before[req_id]["level"], "after": row["level"]}
            for req_id, row in now.items()
            if req_id in before and before[req_id]["level"] != row["level"]
        ],
        "added": [req_id for req_id in now if req_id not in before],
        "removed": [req_id for req_id in before if req_id not in now],
        "changed": changed,
        "by_model": None if checks is None else _by_model(previous.get("checks") or [], checks),
    }


def model_verdicts(checks: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(requirement, model) -> the worst verdict of its model-dependent checks."""
    verdicts: dict[tuple[str, str], list[str]] = {}
    for check in checks:
        model = check.get("model") or ""
        if not model:
            continue
        for req_id in check.get("requirements") or ():
            verdicts.setdefault((str(req_id), str(model)), []).append(str(check["verdict"]))
    return {key: combine(found) for key, found in verdicts.items()}


def _by_model(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> dict[str, Any]:
    before, now = model_verdicts(previous), model_verdicts(current)
    changed = []
    for (req_id, model), verdict in sorted(now.items()):
        old = before.get((req_id, model))
        if old is not None and old != verdict:
            changed.append({"id": req_id, "model": model, "before": old, "after": verdict})
    models_before = {model for _, model in before}
    models_now = {model for _, model in now}
    return {
        "newly_failing": [
            c for c in changed if c["after"] in _CHECK_FAILING and c["before"] not in _CHECK_FAILING
        ],
        "newly_passing": [
            c for c in changed if c["after"] == "passed" and c["before"] != "skipped"
        ],
        "changed": changed,
        "added": sorted(models_now - models_before),
        "removed": sorted(models_before - models_now),
    }


def other_changes(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """Verdict changes that are neither newly failing nor newly passing (e.g. passed -> error)."""
    listed = {*diff["newly_failing"], *diff["newly_passing"]}
    return [c for c in diff["changed"] if c["id"] not in listed]


def is_empty(diff: dict[str, Any]) -> bool:
    kinds = ("changed", "level_changed", "added", "removed")
    return not any(diff[key] for key in kinds)
