"""Waivers: a waived failure passes the gate; expired, stale and unknown waivers fail it."""

from __future__ import annotations

from datetime import date

import pytest

from conformance.report import records
from conformance.report.matrix import build_matrix
from conformance.report.waivers import Waiver, WaiverFileError, apply_waivers, parse_waivers
from tests.test_reports import FAST, STOP_FAULT, fault_url, run_with_reports

FUTURE = "2099-12-31"
PAST = "2020-01-31"


def waiver_file(tmp_path, text: str):
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def chat_21(expires: str) -> str:
    return (
        "- id: CHAT-21\n"
        "  reason: upstream ignores stop sequences\n"
        "  link: https://tracker.example/APEX-42\n"
        f"  expires: {expires}\n"
    )


@pytest.fixture
def stop_url(zoo):
    origin, key = zoo
    return fault_url(origin, STOP_FAULT), key


def test_waived_failure_passes_the_gate(stop_url, tmp_path):
    url, key = stop_url
    waivers = waiver_file(tmp_path, chat_21(FUTURE))
    run = run_with_reports(url, key, tmp_path / "reports", *FAST, f"--waivers={waivers}")
    assert run.exit_code == 0, run.output[-3000:]
    row = next(r for r in run.summary["requirements"] if r["id"] == "CHAT-21")
    assert row["verdict"] == "waived"
    assert row["waived_verdict"] == "failed"
    assert row["waiver"]["link"] == "https://tracker.example/APEX-42"
    assert run.summary["waivers"][0]["status"] == "applied"
    assert run.summary["gate"]["verdict"] == "passed"
    assert run.summary["totals"]["MUST"]["waived"] == 1
    assert run.html_verdicts()["CHAT-21"] == "waived"
    assert "failed, waived until 2099-12-31: upstream ignores stop sequences" in run.html
    assert 'href="https://tracker.example/APEX-42"' in run.html
    assert "  WAIVED CHAT-21 [MUST]" in run.output
    assert "overall: PASSED (exit 0)" in run.output


def test_expired_waiver_fails_the_gate(stop_url, tmp_path):
    url, key = stop_url
    waivers = waiver_file(tmp_path, chat_21(PAST))
    run = run_with_reports(url, key, tmp_path / "reports", *FAST, f"--waivers={waivers}")
    assert run.exit_code == 1
    assert run.verdicts()["CHAT-21"] == "failed"
    result = run.summary["waivers"][0]
    assert result["status"] == "expired"
    expected = f"waiver for CHAT-21 expired on {PAST}"
    assert expected in result["message"]
    assert any(expected in reason for reason in run.summary["gate"]["reasons"])
    assert expected in run.html
    assert f"WAIVER EXPIRED: {expected}" in run.output


def test_stale_and_unknown_waivers_fail_the_gate(zoo, tmp_path):
    origin, key = zoo
    waivers = waiver_file(
        tmp_path,
        "- id: AUTH-02\n  reason: was broken last month\n  expires: 2099-01-01\n"
        "- id: NOPE-99\n  reason: typo\n  expires: 2099-01-01\n",
    )
    run = run_with_reports(
        f"{origin}/clean/v1", key, tmp_path / "reports", "--profile=smoke", f"--waivers={waivers}"
    )
    assert run.exit_code == 1, run.output[-3000:]
    assert run.verdicts()["AUTH-02"] == "passed"
    statuses = {w["id"]: w["status"] for w in run.summary["waivers"]}
    assert statuses == {"AUTH-02": "stale", "NOPE-99": "unknown"}
    assert "waiver for AUTH-02 is stale: it passes now; remove the waiver" in run.output
    assert "waiver names NOPE-99, which is not in the requirement catalogue" in run.output
    assert run.summary["gate"]["verdict"] == "failed"
    assert 'class="w-stale"' in run.html
    assert 'class="w-unknown"' in run.html


def test_malformed_waiver_file_is_a_usage_error(zoo, tmp_path):
    origin, key = zoo
    waivers = waiver_file(tmp_path, "- id: CHAT-21\n  expires: someday\n")
    run = run_with_reports(
        f"{origin}/clean/v1", key, tmp_path / "reports", "--profile=smoke", "-k", "models",
        f"--waivers={waivers}",
    )  # fmt: skip
    assert run.exit_code == 4
    assert "entry 1 (CHAT-21): missing reason" in run.output


def test_parse_accepts_the_documented_form():
    (waiver,) = parse_waivers(chat_21("2027-01-31"))
    assert waiver.id == "CHAT-21"
    assert waiver.expires == date(2027, 1, 31)
    assert waiver.link == "https://tracker.example/APEX-42"
    quoted = parse_waivers("- id: CHAT-21\n  reason: r\n  expires: '2027-01-31'\n")
    assert quoted[0].expires == date(2027, 1, 31)
    assert quoted[0].link is None
    assert parse_waivers("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: CHAT-21\n", "expected a YAML list of waivers, got dict"),
        ("- CHAT-21\n", "entry 1: expected a mapping"),
        ("- id: CHAT-21\n  expires: 2027-01-31\n", "entry 1 (CHAT-21): missing reason"),
        ("- id: CHAT-21\n  reason: r\n", "missing expires"),
        (
            "- id: CHAT-21\n  reason: r\n  expires: soon\n",
            "expires 'soon' is not a date like 2027-01-31",
        ),
        (
            "- id: CHAT-21\n  reason: r\n  expires: 2027-01-31\n  owner: me\n",
            "unknown key(s) owner",
        ),
        (
            "- id: CHAT-21\n  reason: r\n  expires: 2027-01-31\n  link: tracker/1\n",
            "is not an http(s) URL",
        ),
        ("- id: A-01\n  reason: r\n  expires: 2027-01-31\n" * 2, "A-01 is waived twice"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_files_say_what_is_wrong(text, message):
    with pytest.raises(WaiverFileError) as info:
        parse_waivers(text, "w.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("--waivers w.yaml")


def _stop_matrix(*verdicts: str):
    """A matrix whose CHAT-21 row has one check per verdict, named string, array-of-1, ..."""
    names = ("string", "array-of-1", "array-of-2")
    checks = [
        records.TestRecord(
            nodeid=f"test_chat.py::test_stop_sequence_honoured[{name}]",
            requirements=["CHAT-21"],
            level="MUST",
            verdict=verdict,
            check=f"CHAT-21/stop-sequence-honoured/{name}",
        )
        for name, verdict in zip(names, verdicts, strict=False)
    ]
    return build_matrix(checks)


def _chat_21_row(matrix):
    return next(row for row in matrix.rows if row.id == "CHAT-21")


def _waiver(ident: str) -> Waiver:
    return Waiver(ident, "upstream ignores one stop form", date(2099, 1, 1))


def test_check_waiver_waives_that_check_only():
    matrix = _stop_matrix("failed", "passed")
    (result,) = apply_waivers(
        matrix, [_waiver("CHAT-21/stop-sequence-honoured/string")], date(2026, 1, 1)
    )
    assert result.status == "applied"
    assert _chat_21_row(matrix).verdict == "waived"
    assert _chat_21_row(matrix).waived_verdict == "failed"

    matrix = _stop_matrix("failed", "failed")
    (result,) = apply_waivers(
        matrix, [_waiver("CHAT-21/stop-sequence-honoured/string")], date(2026, 1, 1)
    )
    assert result.status == "applied"
    assert "CHAT-21 still failed by other checks" in result.message
    assert _chat_21_row(matrix).verdict == "failed"


def test_check_waiver_patterns_stale_and_unused():
    matrix = _stop_matrix("failed", "failed", "passed")
    waivers = [_waiver("CHAT-21/stop-sequence-honoured/array-*"), _waiver("CHAT-21/*/string")]
    results = apply_waivers(matrix, waivers, date(2026, 1, 1))
    assert [r.status for r in results] == ["applied", "applied"]
    assert _chat_21_row(matrix).verdict == "waived"

    matrix = _stop_matrix("passed", "failed")
    waivers = [_waiver("CHAT-21/stop-sequence-honoured/string"), _waiver("CHAT-21/nope")]
    stale, unused = apply_waivers(matrix, waivers, date(2026, 1, 1))
    assert (stale.status, stale.fails_gate) == ("stale", True)
    assert (unused.status, unused.fails_gate) == ("unused", False)
    assert _chat_21_row(matrix).verdict == "failed"
    (unknown,) = apply_waivers(matrix, [_waiver("NOPE-99/x")], date(2026, 1, 1))
    assert unknown.status == "unknown"
