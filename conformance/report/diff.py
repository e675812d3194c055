"""What changed since a previous run (`--compare PREVIOUS_summary.json`), by requirement ID."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# A requirement "fails" in a run when it shows one of these: a waived failure is still news.
FAILING = frozenset({"failed", "warned", "waived"})


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
    previous: dict[str, Any], current: list[dict[str, Any]], source: str = ""
) -> dict[str, Any]:
    """Requirements that newly fail, newly pass, changed verdict or level; IDs added and removed."""
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
    }


def other_changes(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """Verdict changes that are neither newly failing nor newly passing (e.g. passed -> error)."""
    listed = {*diff["newly_failing"], *diff["newly_passing"]}
    return [c for c in diff["changed"] if c["id"] not in listed]


def is_empty(diff: dict[str, Any]) -> bool:
    kinds = ("changed", "level_changed", "added", "removed")
    return not any(diff[key] for key in kinds)
