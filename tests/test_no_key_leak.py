"""The API key, and the near-copies of it the suite sends, appear in no report, log or output."""

from __future__ import annotations

import gzip
import logging

import pytest

from conformance.contract.test_auth import header_for
from tests.test_reports import FAST, Run, fault_url, run_with_reports

SEED = 20261127  # the suite's default --seed, which picks the variants it sends
# As much of the run as pytest can print: long tracebacks with locals, every outcome,
# and captured output and debug logs copied into the JUnit report too.
LOUD = ("-v", "-rA", "-l", "--tb=long", "--log-level=DEBUG", "-o", "junit_logging=all")


def key_variants(key: str) -> dict[str, str]:
    """The key and the one-character-changed copies the suite sends (AUTH-05), by name."""
    names = ("last character changed", "middle character changed")
    sent = {
        f"the key, {name}": str(header_for(name, key, SEED)).split(" ", 1)[-1] for name in names
    }
    return {"the key": key, **sent}


class _LogSink(logging.Handler):
    """Every log record of the run, formatted, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _run_logged(url: str, key: str, tmp_path, *args: str) -> tuple[Run, str]:
    root = logging.getLogger()
    sink, level = _LogSink(), root.level
    root.addHandler(sink)
    root.setLevel(logging.DEBUG)
    try:
        har = f"--har={tmp_path / 'reports' / 'conformance.har'}"
        run = run_with_reports(url, key, tmp_path / "reports", *LOUD, har, *args)
    finally:
        root.removeHandler(sink)
        root.setLevel(level)
    return run, "\n".join(sink.lines)


def _assert_absent(run: Run, logs: str, key: str) -> None:
    places = {
        "conformance.html": run.html,
        "junit.xml": run.junit,
        "summary.json": (run.report_dir / "summary.json").read_text("utf-8"),
        # Every exchange of the run, bodies and headers whole (conformance.evidence).
        "conformance.har": (run.report_dir / "conformance.har").read_text("utf-8"),
        "recording.har.gz": gzip.decompress(
            (run.report_dir / "recording.har.gz").read_bytes()
        ).decode("utf-8"),
        "terminal output": run.output,
        "log records": logs,
    }
    variants = key_variants(key)
    # Any 16 characters of them also count: a body limit may cut a key short.
    windows = {v[i : i + 16] for v in variants.values() for i in range(len(v) - 15)}
    leaks = []
    for place, text in places.items():
        found = [f"{name} {text.count(v)}x" for name, v in variants.items() if v in text]
        partial = [w for w in windows if w in text]
        if partial:
            at = min(text.find(w) for w in partial)
            # The excerpt stops before the key material: this test's own output stays clean.
            found.append(f"key fragments after ...{text[max(0, at - 80) : at]!r}")
        if found:
            leaks.append(f"{place}: {'; '.join(found)}")
    assert not leaks, "key material found:\n" + "\n".join(leaks)


@pytest.mark.parametrize(
    ("fault", "args"),
    [
        # Echoes the submitted key (the real one, or a near-copy) in 401 bodies; with
        # --fail-on=should its SHOULD failure prints in full in the terminal and JUnit.
        ("auth-echo-key", ("--fail-on=should", *FAST)),
        # Accepts any key: the near-copies get 200s and AUTH-02/05 fail (MUST).
        ("auth-accept-any-key", ("--profile=smoke",)),
    ],
)
def test_key_absent_from_every_artifact(zoo, tmp_path, fault, args):
    origin, key = zoo
    run, logs = _run_logged(fault_url(origin, fault), key, tmp_path, *args)
    assert run.exit_code == 1, run.output[-3000:]
    assert "failed" in run.verdicts().values()
    _assert_absent(run, logs, key)
    assert "[REDACTED]" in run.html


def test_variants_are_near_copies_of_the_key():
    key = "ak-" + "k" * 45
    variants = key_variants(key)
    assert len(set(variants.values())) == 3
    for variant in variants.values():
        assert len(variant) == len(key)
        assert sum(a != b for a, b in zip(variant, key, strict=True)) == (variant != key)
