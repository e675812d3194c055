"""One record per check, built from pytest reports (on the controller under xdist)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

from conformance.transport.redact import redact_text

# Keys the plugin puts in report.user_properties; they survive xdist's serialisation.
VERDICT = "apex_verdict"
REQUIREMENTS = "requirements"
CHECK = "check"
LEVEL = "level"
MESSAGE = "apex_message"
TRANSCRIPT = "apex_transcript"
CURL = "apex_curl"
OBSERVATION = "observation"
# The model a model-dependent check judged (issue 15); absent for model-independent checks.
MODEL = "apex_model"
# The HAR entries (their `_apexId`) of the exchanges a check used (conformance.evidence).
EXCHANGES = "apex_exchanges"


@dataclass
class TestRecord:
    """What the report needs to know about one check."""

    nodeid: str
    requirements: list[str]
    level: str
    verdict: str
    check: str = ""  # the stable check ID (catalogue.check_id)
    model: str = ""  # the model a model-dependent check judged; "" for the others
    message: str = ""
    transcript: str = ""
    curl: str = ""
    duration: float = 0.0
    phases: list[str] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)  # HAR entry ids (_apexId)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def properties(report: pytest.TestReport | pytest.CollectReport) -> dict[str, Any]:
    return {str(k): v for k, v in getattr(report, "user_properties", ())}


def record_from(report: pytest.TestReport) -> TestRecord | None:
    """The record a call-phase (or failed setup) report carries, if it is a contract check."""
    props = properties(report)
    if VERDICT not in props:
        return None
    return TestRecord(
        nodeid=report.nodeid,
        requirements=str(props.get(REQUIREMENTS, "")).split(","),
        level=str(props.get(LEVEL, "")),
        verdict=str(props[VERDICT]),
        check=str(props.get(CHECK, "")),
        model=str(props.get(MODEL, "")),
        message=redact_text(str(props.get(MESSAGE, ""))),
        transcript=redact_text(str(props.get(TRANSCRIPT, ""))),
        curl=redact_text(str(props.get(CURL, ""))),
        duration=report.duration,
        phases=[report.when],
        exchanges=[str(i) for i in props.get(EXCHANGES) or []],
    )
