"""`--history=DIR`: each run's summary kept in a folder, each requirement's last verdicts as a
strip, and the requirements whose verdict flips back and forth between comparable runs.

Pure functions over summaries; the session saves and loads, the HTML report shows the strip.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

from conformance.report.diff import model_verdicts

KEEP = 50  # summaries kept in the folder
STRIP = 20  # runs shown in a strip, the current one included
_PREFIX = "run-"
# What a run's verdict says about the rule, for flakiness: a waived failure is a failure.
_PASS = frozenset({"passed"})
_FAIL = frozenset({"failed", "warned", "waived"})
# Facts that must match for two runs to judge the same thing (the --models value too: a
# requirement judged over all models is not the one judged over the cheapest).
_SAME = ("target", "profile", "models")
# Evidence of single checks: the run's own report keeps it; history needs the verdicts.
_EVIDENCE = ("transcript", "curl")

STRIP_STYLE = """<style>
.apex .strip{display:inline-flex;gap:1px;vertical-align:middle;margin:2px 0}
.apex .strip i{display:inline-block;width:7px;height:12px;border-radius:1px;background:#eceef2}
.apex .strip i.passed{background:#3aa55d} .apex .strip i.failed{background:#d93636}
.apex .strip i.warned{background:#e0a800} .apex .strip i.error{background:#9c3cc0}
.apex .strip i.info{background:#4a86d0} .apex .strip i.waived{background:#7b68c8}
.apex .strip i.skipped{background:#c4c9d2} .apex .strip i.none{background:none;
 box-shadow:inset 0 0 0 1px #d5d9e0}
.apex .flaky{font-size:11px;font-weight:600;color:#9b1c1c;background:#fde8e8;border-radius:3px;
 padding:0 4px;margin-left:4px}
</style>"""


def save_run(directory: Path, summary: dict[str, Any], keep: int = KEEP) -> Path:
    """Write `summary` (without transcripts and curl lines) as run-<started, UTC>.json in
    `directory`, then remove the oldest summaries beyond `keep`. Returns the file written."""
    directory.mkdir(parents=True, exist_ok=True)
    slim = {
        **summary,
        "checks": [
            {k: v for k, v in check.items() if k not in _EVIDENCE} for check in summary["checks"]
        ],
    }
    stamp = _stamp(str(summary["run"]["started"]))
    path, n = directory / f"{_PREFIX}{stamp}.json", 1
    while path.exists():  # two runs started in the same second
        n += 1
        path = directory / f"{_PREFIX}{stamp}-{n}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(slim, ensure_ascii=False), "utf-8")
    os.replace(partial, path)
    for old in _files(directory)[:-keep] if keep > 0 else ():
        old.unlink(missing_ok=True)
    return path


def load_runs(directory: Path, limit: int = KEEP) -> tuple[list[dict[str, Any]], list[str]]:
    """The last `limit` summaries in `directory`, oldest first, and the names of the files
    that were not readable summaries (skipped: history never stops a run)."""
    runs: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in _files(directory)[-limit:] if limit > 0 else ():
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            skipped.append(path.name)
            continue
        if isinstance(data, dict) and _is_summary(data):
            runs.append(data)
        else:
            skipped.append(path.name)
    runs.sort(key=lambda run: _started(run["run"]))
    return runs, skipped


def history_section(
    summary: dict[str, Any], past: list[dict[str, Any]], runs: int = STRIP
) -> dict[str, Any]:
    """summary.json's `history`: the verdicts of the last `runs` comparable runs (same target,
    profile and --models), this one last, and what is flaky among those of this suite version.

    A requirement is flaky when its verdict goes from pass to fail and back (or the other way)
    within those runs: one change is a regression or a fix, which --compare reports.
    """
    now = summary["run"]
    key = _same(now)
    earlier = [
        run for run in past if _same(run["run"]) == key and _started(run["run"]) != _started(now)
    ]
    window = [*earlier[-(runs - 1) :], summary] if runs > 1 else [summary]
    rows = [_verdicts(run) for run in window]
    strips = {
        str(row["id"]): [verdicts.get(str(row["id"])) for verdicts in rows]
        for row in summary["requirements"]
    }
    version = now.get("suite_version")
    same_suite = [run for run in window if run["run"].get("suite_version") == version]
    versions = [_verdicts(run) for run in same_suite]
    flaky = [req_id for req_id in strips if _flips([v.get(req_id) for v in versions]) >= 2]
    per_model = [model_verdicts(run.get("checks") or []) for run in same_suite]
    keys = sorted({pair for verdicts in per_model for pair in verdicts})
    flaky_models: dict[str, list[str]] = {}
    for req_id, model in keys:
        if _flips([verdicts.get((req_id, model)) for verdicts in per_model]) >= 2:
            flaky_models.setdefault(req_id, []).append(model)
    return {
        "runs": len(window),
        "started": [str(run["run"].get("started")) for run in window],
        "suite_versions": [str(run["run"].get("suite_version")) for run in window],
        "strips": strips,
        "flaky": flaky,
        "flaky_models": flaky_models,
    }


def strip_html(history: dict[str, Any], req_id: str) -> str:
    """One requirement's strip: a small square per run, oldest first, each titled with the
    run's start and verdict; a `flaky` mark when its verdict flips."""
    verdicts = history.get("strips", {}).get(req_id) or []
    started = history.get("started") or []
    cells = []
    for n, verdict in enumerate(verdicts):
        # "2026-11-27 03:17 passed": a strip of 30 runs x 80 requirements stays near 120 kB.
        when = started[n][:16].replace("T", " ") if n < len(started) else "?"
        shown = escape(f"{when} {verdict or 'not in that run'}")
        cells.append(f'<i class={escape(verdict or "none")} title="{shown}"></i>')
    label = f"last {len(verdicts)} verdicts, oldest first"
    out = f'<span class="strip" title="{label}">{"".join(cells)}</span>'
    models = history.get("flaky_models", {}).get(req_id) or []
    if req_id in history.get("flaky", ()) or models:
        which = f" for {', '.join(models)}" if models else ""
        out += f'<span class="flaky" title="verdict flips between runs{escape(which)}">flaky</span>'
    return out


def _files(directory: Path) -> list[Path]:
    """The folder's summaries, oldest first (names are UTC start times)."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{_PREFIX}*.json"), key=lambda path: path.stem)


def _stamp(started: str) -> str:
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _started(run: dict[str, Any]) -> str:
    return str(run.get("started") or "")


def _is_summary(data: dict[str, Any]) -> bool:
    return (
        isinstance(data.get("run"), dict)
        and isinstance(data.get("requirements"), list)
        and isinstance(data.get("totals"), dict)
    )


def _same(run: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(run.get(key) or "") for key in _SAME)


def _verdicts(summary: dict[str, Any]) -> dict[str, str]:
    return {str(row["id"]): str(row["verdict"]) for row in summary["requirements"]}


def _flips(verdicts: list[str | None]) -> int:
    """How often the judged verdicts go from pass to fail or back; the rest are no verdict."""
    judged = ["pass" if v in _PASS else "fail" for v in verdicts if v in _PASS | _FAIL]
    return sum(a != b for a, b in pairwise(judged))
