"""`apex-conformance rejudge`: the current suite's checks against a recorded run, offline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.evidence.replay import load_recording, recording_path
from conformance.session.inprocess import run_in_process

# Settings the recorded run's verdicts depend on, as the options that set them.
_REPLAYED = {
    "profile": "--profile",
    "fail_on": "--fail-on",
    "models": "--models",
    "chat_model": "--chat-model",
    "image_model": "--image-model",
    "max_cost": "--max-cost",
    "request_timeout": "--request-timeout",
    "stream_idle_timeout": "--stream-idle-timeout",
    "max_requests": "--max-requests",
    "seed": "--seed",
}


@dataclass
class Rejudged:
    """A re-judging run: its summary, the recorded one, and every check whose verdict moved."""

    exit_code: int
    output: str
    summary: dict[str, Any]
    recorded: dict[str, Any] | None
    changes: list[dict[str, Any]] = field(default_factory=list)


def recorded_summary(source: Path) -> Path:
    """The summary.json beside a recording (a report folder holds both)."""
    return (source if source.is_dir() else source.parent) / "summary.json"


def replay_args(source: Path, out: Path) -> tuple[list[str], str]:
    """The pytest arguments that re-judge `source` into `out`, and the stand-in key."""
    run = load_recording(source)["_apexRun"]
    config = run.get("config") or {}
    args = [
        "--pyargs",
        "conformance.contract",
        f"--replay={recording_path(source)}",
        f"--report-dir={out}",
        # One request at a time: every answer is already here, planning would only cost.
        "--concurrency=1",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    args += [f"{flag}={config[name]}" for name, flag in _REPLAYED.items() if config.get(name)]
    if run.get("keyword"):
        args += ["-k", str(run["keyword"])]
    if run.get("markexpr"):
        args += ["-m", str(run["markexpr"])]
    summary = recorded_summary(source)
    if summary.is_file():
        args.append(f"--compare={summary}")
    return args, str(run["stand_in_key"])


def rejudge(source: Path, out: Path, plugins: Sequence[object] = ()) -> Rejudged:
    """Run the suite against the recording at `source`; RecordingError if it is unreadable.
    `plugins` go to pytest (the self-tests change a check with one)."""
    args, key = replay_args(source, out)
    code, output = run_in_process(args, key, plugins)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    path = recorded_summary(source)
    recorded = json.loads(path.read_text("utf-8")) if path.is_file() else None
    changes = check_changes(recorded["checks"], summary["checks"]) if recorded else []
    return Rejudged(code, output, summary, recorded, changes)


def check_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every check (by node ID and model) whose verdict differs, or that only one run has."""

    def by_check(checks: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(str(c["nodeid"]), str(c.get("model") or "")): c for c in checks}

    old, new = by_check(before), by_check(after)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is not None and now is not None and was["verdict"] == now["verdict"]:
            continue
        changes.append(
            {
                "check": (now or was or {}).get("check", ""),
                "nodeid": key[0],
                "model": key[1],
                "before": was["verdict"] if was else None,
                "after": now["verdict"] if now else None,
                "message": now.get("message", "") if now else "",
            }
        )
    return changes


def change_lines(result: Rejudged) -> list[str]:
    """The checks whose verdict moved, one line each, for the terminal."""
    if result.recorded is None:
        return ["no summary.json beside the recording: nothing to compare with"]
    if not result.changes:
        return [f"every check's verdict is the recorded one ({len(result.summary['checks'])})"]
    lines = [f"{len(result.changes)} checks differ from the recorded verdicts:"]
    for change in result.changes:
        name = change["check"] or change["nodeid"]
        model = f" [{change['model']}]" if change["model"] else ""
        lines.append(f"  {name}{model}: {change['before'] or '-'} -> {change['after'] or '-'}")
        if change["message"]:
            lines.append(f"      {change['message'].splitlines()[0][:160]}")
    return lines
