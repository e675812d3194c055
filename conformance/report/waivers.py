"""Waivers: known failures a team accepts until a date, read from `--waivers FILE`.

A waiver turns a failed (or warned) requirement into `waived`; a waiver whose id is a
check ID (`CHAT-21/stop-sequence-honoured/string`, fnmatch patterns allowed) waives those
checks only, and the requirement is waived when no other check of it fails. A waiver
that names a `model` (an exact id or an fnmatch glob such as `anthropic/*`) covers only the
checks that judged a matching model, in the same way. It must not rot: an expired waiver,
one whose requirement or checks pass now (stale) and one naming an unknown requirement
each fail the gate.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from conformance.vocabulary import combine

if TYPE_CHECKING:
    from conformance.report.matrix import Matrix, Row
    from conformance.report.records import TestRecord

WaiverStatus = Literal["applied", "expired", "stale", "unknown", "unused"]

# Statuses that fail the gate: each means the waiver file needs an edit.
GATE_FAILING: frozenset[str] = frozenset({"expired", "stale", "unknown"})

_REQUIRED = ("id", "reason", "expires")
_OPTIONAL = ("link", "model")

EXAMPLE = """\
- id: CHAT-21
  reason: upstream provider ignores stop sequences
  link: https://tracker.example/ISSUE-123
  expires: 2027-01-31"""


class WaiverFileError(ValueError):
    """The waiver file cannot be used; the message says where and what to write instead."""


@dataclass(frozen=True)
class Waiver:
    """One accepted failure: which requirement, why, where it is tracked, until when."""

    id: str
    reason: str
    expires: date
    link: str | None = None
    model: str | None = None  # an id or fnmatch glob: only checks that judged such a model

    @property
    def label(self) -> str:
        return f"{self.id} (model {self.model})" if self.model else self.id

    def covers(self, check: TestRecord) -> bool:
        """Whether this waiver names `check`: by check ID (or any check of its requirement)
        and, with a model, only a model-dependent check of a matching model."""
        if "/" in self.id and not (check.check and fnmatchcase(check.check, self.id)):
            return False
        return self.model is None or bool(check.model and fnmatchcase(check.model, self.model))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "link": self.link,
            "expires": self.expires.isoformat(),
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Waiver:
        """The waiver as summary.json records it."""
        expires = date.fromisoformat(data["expires"])
        return cls(data["id"], data["reason"], expires, data["link"], data.get("model"))


@dataclass(frozen=True)
class WaiverResult:
    """What a waiver did in this run."""

    waiver: Waiver
    status: WaiverStatus
    message: str

    @property
    def fails_gate(self) -> bool:
        return self.status in GATE_FAILING

    def as_dict(self) -> dict[str, Any]:
        return {**self.waiver.as_dict(), "status": self.status, "message": self.message}


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waiver file; WaiverFileError says what is wrong."""
    source = Path(path)
    try:
        text = source.read_text("utf-8")
    except OSError as exc:
        raise WaiverFileError(f"--waivers {source}: cannot read the file ({exc.strerror})") from exc
    return parse_waivers(text, str(source))


def parse_waivers(text: str, source: str = "waivers") -> list[Waiver]:
    """Waivers from YAML text: a list of mappings with id, reason, expires and an optional link."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WaiverFileError(f"--waivers {source}: not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise WaiverFileError(
            f"--waivers {source}: expected a YAML list of waivers, got {type(data).__name__}. "
            f"Example:\n{EXAMPLE}"
        )
    waivers = [_entry(item, f"--waivers {source}: entry {n}") for n, item in enumerate(data, 1)]
    seen: set[tuple[str, str | None]] = set()
    for waiver in waivers:
        if (waiver.id, waiver.model) in seen:
            raise WaiverFileError(
                f"--waivers {source}: {waiver.label} is waived twice; keep one entry"
            )
        seen.add((waiver.id, waiver.model))
    return waivers


def _entry(item: object, where: str) -> Waiver:
    if not isinstance(item, dict):
        raise WaiverFileError(
            f"{where}: expected a mapping with {', '.join(_REQUIRED)}. Example:\n{EXAMPLE}"
        )
    missing = [key for key in _REQUIRED if item.get(key) in (None, "")]
    unknown = sorted(str(key) for key in item if key not in (*_REQUIRED, *_OPTIONAL))
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown key(s) {', '.join(unknown)}"] if unknown else []
        raise WaiverFileError(
            f"{where} ({item.get('id', 'no id')}): {'; '.join(problems)}. Example:\n{EXAMPLE}"
        )
    expires = item["expires"]
    if isinstance(expires, str):
        with contextlib.suppress(ValueError):  # reported below, with the entry named
            expires = date.fromisoformat(expires)
    # YAML reads an unquoted 2027-01-31 as a date already; a datetime is not a plain date.
    if not isinstance(expires, date) or hasattr(expires, "hour"):
        raise WaiverFileError(
            f"{where} ({item['id']}): expires {item['expires']!r} is not a date like 2027-01-31"
        )
    link = item.get("link")
    if link is not None and not str(link).startswith(("https://", "http://")):
        raise WaiverFileError(f"{where} ({item['id']}): link {link!r} is not an http(s) URL")
    model = item.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise WaiverFileError(
            f"{where} ({item['id']}): model {model!r} is not a model id or glob "
            "like anthropic/claude-3-haiku or anthropic/*"
        )
    return Waiver(
        str(item["id"]),
        str(item["reason"]).strip(),
        expires,
        None if link is None else str(link),
        None if model is None else model.strip(),
    )


def apply_waivers(matrix: Matrix, waivers: list[Waiver], today: date) -> list[WaiverResult]:
    """Mark waived rows in `matrix` and say what each waiver did."""
    rows = {row.id: row for row in matrix.rows}
    results: list[WaiverResult] = []
    check_waivers: list[tuple[int, Waiver, Row]] = []
    for waiver in waivers:
        row = rows.get(waiver.id.split("/")[0])
        if row is not None and ("/" in waiver.id or waiver.model) and waiver.expires >= today:
            # Judged after the requirement waivers, with all of its row's check waivers.
            check_waivers.append((len(results), waiver, row))
            results.append(WaiverResult(waiver, "unused", ""))
            continue
        if row is None:
            results.append(WaiverResult(
                waiver, "unknown",
                f"waiver names {waiver.id}, which is not in the requirement catalogue; "
                "fix the ID or remove the waiver",
            ))  # fmt: skip
            continue
        if waiver.expires < today:
            results.append(WaiverResult(
                waiver, "expired",
                f"waiver for {waiver.label} expired on {waiver.expires.isoformat()} "
                f"(requirement verdict: {row.verdict}); fix the target or renew the waiver",
            ))  # fmt: skip
            continue
        if row.verdict in ("failed", "warned"):
            row.waive(waiver)
            results.append(WaiverResult(
                waiver, "applied",
                f"{waiver.id} {row.waived_verdict}, waived until {waiver.expires.isoformat()}",
            ))  # fmt: skip
        elif row.verdict in ("passed", "info"):
            why = "passes now" if row.verdict == "passed" else "is INFO and never fails"
            results.append(WaiverResult(
                waiver, "stale", f"waiver for {waiver.id} is stale: it {why}; remove the waiver",
            ))  # fmt: skip
        else:
            results.append(WaiverResult(
                waiver, "unused",
                f"{waiver.id} was not judged this run ({row.verdict}); the waiver was not needed",
            ))  # fmt: skip
    for index, result in _apply_check_waivers(check_waivers).items():
        results[index] = result
    return results


def _apply_check_waivers(entries: list[tuple[int, Waiver, Row]]) -> dict[int, WaiverResult]:
    """Waive the failing checks each check-ID or model waiver names; a row whose other checks
    all pass is waived, one with another failure keeps it."""
    results: dict[int, WaiverResult] = {}
    # The records waived per row, by identity: one check ID recurs once per model.
    waived: dict[str, set[int]] = {}
    for index, waiver, row in entries:
        matched = [c for c in row.checks if waiver.covers(c)]
        bad = [c for c in matched if c.verdict in ("failed", "warned")]
        status: WaiverStatus
        if row.verdict == "waived":
            status = "unused"
            message = f"{row.id} is waived as a whole; {waiver.label} is not needed"
        elif bad:
            waived.setdefault(row.id, set()).update(id(c) for c in bad)
            status, message = (
                "applied",
                (
                    f"{waiver.label}: {len(bad)} check(s) {bad[0].verdict}, "
                    f"waived until {waiver.expires.isoformat()}"
                ),
            )
        elif matched and all(c.verdict in ("passed", "info") for c in matched):
            status, message = (
                "stale",
                (f"waiver for {waiver.label} is stale: the check passes now; remove the waiver"),
            )
        elif matched:
            status, message = "unused", f"{waiver.label} was not judged this run; not needed"
        elif waiver.model:
            status, message = (
                "unused",
                (
                    f"no check of {waiver.id} judged a model matching {waiver.model} this run "
                    "(the model was not selected, or the requirement does not depend on it)"
                ),
            )
        else:
            status, message = (
                "unused",
                (
                    f"no check {waiver.id} ran this run (deselected, or not a check ID: "
                    "summary.json lists them as checks[].check)"
                ),
            )
        results[index] = WaiverResult(waiver, status, message)
    for index, waiver, row in entries:
        if row.id not in waived or row.verdict not in ("failed", "warned"):
            continue
        rest = combine(c.verdict for c in row.checks if id(c) not in waived[row.id])
        if rest in ("failed", "warned"):
            result = results[index]
            results[index] = WaiverResult(
                waiver, result.status, f"{result.message}; {row.id} still {rest} by other checks"
            )
        elif rest == "error":
            row.verdict = "error"  # a waived failure must not hide a check that could not run
        else:
            row.waive(waiver)
    return results
