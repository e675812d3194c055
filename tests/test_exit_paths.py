"""The gate never lies: user mistakes, unjudged runs and every exit path, each with true reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.vocabulary import (
    EXIT_COULD_NOT_JUDGE,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_JUDGED,
    EXIT_USAGE,
)
from tests.misbehaving import Slow, html_site
from tests.test_reports import Run, run_with_reports

REPORTS = ("summary.json", "conformance.html", "junit.xml")


def gate(run: Run) -> dict[str, object]:
    return dict(run.summary["gate"])


def assert_reports_say(run: Run, verdict: str) -> None:
    """All three reports exist and carry the outcome (no earlier run's files)."""
    for name in REPORTS:
        assert (run.report_dir / name).is_file(), name
    assert gate(run)["verdict"] == verdict
    headline = verdict.replace("-", " ").upper()
    assert f"Overall: {headline}" in run.html
    if verdict not in ("passed", "failed"):
        assert f"{verdict.upper()}:" in run.junit


def short(run: Run) -> list[str]:
    """The lines that say what happened: no traceback, a handful at most."""
    assert "Traceback" not in run.output
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) <= 12, run.output
    return lines


@pytest.fixture
def stale_reports(tmp_path: Path) -> Path:
    """A report folder holding an earlier run's files, which must not survive."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in REPORTS:
        (folder / name).write_text("stale")
    return folder


def test_base_url_without_v1_says_did_you_mean(reference, stale_reports):
    base_url, key = reference
    root = base_url.removesuffix("/v1")
    run = run_with_reports(root, key, stale_reports, "-q")
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    text = "\n".join(short(run))
    assert f"no OpenAI-format API at {root}" in text
    assert f"Did you mean --base-url={root}/v1 ?" in text
    assert_reports_say(run, "could-not-judge")
    assert run.summary["checks"] == []


@pytest.fixture(scope="module")
def web_site() -> Iterator[str]:
    with html_site() as origin:
        yield origin


def test_html_site_is_not_an_api(web_site, tmp_path):
    run = run_with_reports(web_site + "/v1", generate_api_key(), tmp_path / "r", "-q")
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    text = "\n".join(short(run))
    assert "no OpenAI-format API" in text and "text/html" in text
    assert_reports_say(run, "could-not-judge")


def test_wrong_key_says_check_the_key(reference, tmp_path):
    base_url, _ = reference
    run = run_with_reports(base_url, generate_api_key(), tmp_path / "r", "-q")
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    text = "\n".join(short(run))
    assert "refused the key" in text and "APEX_API_KEY" in text
    assert_reports_say(run, "could-not-judge")


def test_model_typo_is_a_usage_error_listing_the_models(reference, tmp_path):
    base_url, key = reference
    run = run_with_reports(base_url, key, tmp_path / "r", "-q", "--chat-model=openai/gpt-4o-typo")
    assert run.exit_code == EXIT_USAGE
    text = "\n".join(short(run))
    assert "--chat-model=openai/gpt-4o-typo is not in the target's /models list" in text
    assert "openai/gpt-4o-mini" in text
    assert_reports_say(run, "usage-error")


def test_bad_option_is_a_usage_error_with_reports(reference, stale_reports):
    base_url, key = reference
    run = run_with_reports(base_url, key, stale_reports, "-q", "--max-requests=-1")
    assert run.exit_code == EXIT_USAGE
    assert "--max-requests / APEX_MAX_REQUESTS: '-1' must be greater than 0" in run.output
    assert_reports_say(run, "usage-error")


def test_unwritable_report_dir_is_a_usage_error_before_any_request(reference, tmp_path):
    base_url, key = reference
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = run_with_reports(base_url, key, blocker / "reports", "-q")
    assert run.exit_code == EXIT_USAGE
    assert "is not a writable folder" in run.output
    assert "apex-conformance target" not in run.output  # nothing was sent


def test_budget_spent_is_not_judged_never_passed(reference, tmp_path):
    base_url, key = reference
    run = run_with_reports(base_url, key, tmp_path / "r", "--profile=smoke", "--max-requests=12")
    assert run.exit_code == EXIT_NOT_JUDGED, run.output[-2000:]
    assert_reports_say(run, "not-judged")
    reasons = " ".join(str(r) for r in run.summary["gate"]["reasons"])
    assert "budget" in reasons
    assert run.summary["gate"]["not_judged"]
    assert "overall: NOT JUDGED (exit 8)" in run.output
    assert run.summary["run"]["spend"]["requests"] <= 12


def test_budget_is_the_whole_run_under_xdist(reference, tmp_path):
    base_url, key = reference
    run = run_with_reports(base_url, key, tmp_path / "r", "-n", "2", "--max-requests=40")
    assert run.summary["run"]["spend"]["requests"] <= 40
    assert run.exit_code == EXIT_NOT_JUDGED


class ChatModelsOnly:
    """Lists only the chat models: nothing tells the suite which model makes images."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/models"):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        start, *parts = held
        listing = json.loads(b"".join(part.get("body", b"") for part in parts))
        if isinstance(listing, dict) and "data" in listing:  # not the 401s of the auth checks
            listing["data"] = [m for m in listing["data"] if "dall-e" not in m["id"]]
        body = json.dumps(listing).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_no_image_model_is_not_judged_and_names_the_option(tmp_path):
    key = generate_api_key()
    with ServerThread(ChatModelsOnly(create_app(key))) as server:
        run = run_with_reports(server.base_url, key, tmp_path / "r", "--profile=smoke")
    assert run.exit_code == EXIT_NOT_JUDGED, run.output[-2000:]
    rows = {r["id"]: r for r in run.summary["requirements"]}
    assert rows["IMG-01"]["verdict"] == "error"
    assert "--image-model" in " ".join(rows["IMG-01"]["messages"])
    assert "--image-model" in " ".join(str(r) for r in run.summary["gate"]["reasons"])


class ImagesModelNotFound:
    """Answers every image request 404 "model not found": no model to judge, the route is there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/images/generations"):
            await self.app(scope, receive, send)
            return
        body = b'{"error": {"message": "The model does not exist.", "code": "model_not_found"}}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_model_not_found_everywhere_is_not_judged_not_failed(tmp_path):
    key = generate_api_key()
    with ServerThread(ImagesModelNotFound(create_app(key))) as server:
        run = run_with_reports(server.base_url, key, tmp_path / "r", "--profile=smoke")
    rows = {r["id"]: r for r in run.summary["requirements"]}
    assert rows["IMG-01"]["verdict"] == "error", rows["IMG-01"]
    assert run.exit_code == EXIT_NOT_JUDGED, run.output[-2000:]


def test_profile_skips_say_which_profile(standard_report):
    rows = {r["id"]: r for r in standard_report.summary["requirements"]}
    full_only = [r for r in rows.values() if r["verdict"] == "skipped"]
    assert full_only
    assert all(r["note"].startswith("checked in --profile=full") for r in full_only)
    assert "checked in --profile=full" in standard_report.html


@pytest.fixture(scope="module")
def standard_report(tmp_path_factory, reference) -> Run:
    base_url, key = reference
    return run_with_reports(base_url, key, tmp_path_factory.mktemp("std") / "r")


def test_clean_standard_run_passes_with_every_gated_requirement_judged(standard_report):
    assert standard_report.exit_code == 0, standard_report.output[-3000:]
    assert gate(standard_report)["not_judged"] == []


def test_ctrl_c_leaves_partial_reports_marked_interrupted(tmp_path):
    key = generate_api_key()
    # Slow enough that the run is still sending its waves a second after the collection.
    with ServerThread(Slow(create_app(key), 1.0)) as server:
        env = {**os.environ, "APEX_API_KEY": key}
        report_dir = tmp_path / "r"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--pyargs", "conformance.contract", "-p",
             "no:cacheprovider", f"--base-url={server.base_url}", f"--report-dir={report_dir}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # A job started in the background inherits SIGINT ignored: give Ctrl-C back.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        assert proc.stdout is not None
        seen = []
        # Past the preflight and the collection, into the checks: then Ctrl-C.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("collected" in line for line in seen):
            seen.append(proc.stdout.readline())
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        output = "".join(seen) + rest
    assert proc.returncode == EXIT_INTERRUPTED, output[-2000:]
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["gate"]["verdict"] == "interrupted"
    assert "interrupted after" in summary["gate"]["reasons"][0]
    assert "Overall: INTERRUPTED" in (report_dir / "conformance.html").read_text()
    assert "INTERRUPTED:" in (report_dir / "junit.xml").read_text()


class BrokenLoop:
    """A plugin whose run loop breaks after the preflight: pytest's internal error."""

    def pytest_runtestloop(self, session: pytest.Session) -> None:
        raise RuntimeError("the run loop broke")


def test_internal_error_leaves_reports_that_say_so(reference, stale_reports):
    base_url, key = reference
    run = run_with_reports(base_url, key, stale_reports, "-q", plugins=(BrokenLoop(),))
    assert run.exit_code == EXIT_INTERNAL_ERROR, run.output[-2000:]
    assert_reports_say(run, "internal-error")
    assert "internal error" in run.summary["gate"]["reasons"][0]


def test_pytest_outside_the_repository_says_how_to_run(tmp_path):
    env = {**os.environ, "APEX_API_KEY": generate_api_key()}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--base-url=http://127.0.0.1:9/v1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == EXIT_USAGE, proc.stdout[-2000:]
    assert "apex-conformance run --base-url=" in proc.stdout
