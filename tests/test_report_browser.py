"""The HTML report as a browser shows it: headless Chromium renders the matrix and a failure."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections import Counter

import pytest

from conformance.catalogue import requirements
from conformance.report.html import page
from conformance.report.latency import latency_html
from conformance.report.models import models_html
from tests.test_model_reports import ten_model_summary
from tests.test_reports import FAST, STOP_FAULT, Run, fault_url, run_with_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium); CI installs it",
)
WIDTH, HEIGHT = 1400, 2400


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="apex-chromium-") as profile:
        command = [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args,
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def failing_run(zoo, tmp_path_factory) -> Run:
    origin, key = zoo
    reports = tmp_path_factory.mktemp("browser") / "reports"
    run = run_with_reports(fault_url(origin, STOP_FAULT), key, reports, *FAST)
    assert run.exit_code == 1, run.output[-3000:]
    return run


@pytest.fixture(scope="module")
def dom(failing_run) -> str:
    """The report's DOM after Chromium ran its scripts (pytest-html builds its table in JS)."""
    page = (failing_run.report_dir / "conformance.html").as_uri()
    result = _chromium("--virtual-time-budget=5000", "--dump-dom", page)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_matrix_is_rendered(dom, failing_run):
    assert '<div class="apex" id="apex-compliance">' in dom
    assert "<h2>Compliance matrix</h2>" in dom
    assert len(re.findall(r'<tr id="req-[A-Z]+-\d+" class="r-', dom)) >= 60
    # pytest-html's own results table, which its script fills in, is there too.
    rows = re.findall(r'<tbody class="results-table-row (\w+)"', dom)
    assert len(rows) > 100
    failed = [c for c in failing_run.summary["checks"] if c["verdict"] == "failed"]
    assert failed and all(c["requirements"] == ["CHAT-21"] for c in failed)
    assert rows.count("failed") == len(failed)


def test_overall_verdict_is_shown(dom):
    banner = re.search(r'<div class="banner failed" id="apex-overall">(.*?)</div>', dom, re.S)
    assert banner is not None
    assert "Overall: FAILED: 1 MUST requirement failed" in banner.group(1)


def test_failing_row_and_its_transcript_are_shown(dom):
    row = re.search(
        r'<tr id="req-CHAT-21" class="r-failed">.*?</tr>\s*<tr class="detail">(.*?)</tr>', dom, re.S
    )
    assert row is not None, "CHAT-21 row with its detail row"
    detail = row.group(1)
    assert "<details open=" in detail
    assert "the reply contains the stop sequence" in detail
    assert '<pre class="transcript">' in detail
    assert "POST http://127.0.0.1" in detail
    assert "Authorization: [REDACTED]" in detail
    assert '<pre class="curl">curl -sS -X POST' in detail


def test_screenshot_shows_the_matrix_first(failing_run, tmp_path):
    shot = tmp_path / "report.png"
    page = (failing_run.report_dir / "conformance.html").as_uri()
    result = _chromium(f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page)
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (WIDTH, HEIGHT)
    assert len(data) > 50_000, "a near-empty page"
    from PIL import Image

    with Image.open(shot) as image:
        top = image.convert("RGB").crop((0, 0, WIDTH, 400))
        # The failed banner's background (#fde8e8) sits in the first screenful: the
        # matrix comes before pytest-html's environment table and results.
        colours = dict((colour, n) for n, colour in top.getcolors(WIDTH * 400) or [])
        banner = colours.get((0xFD, 0xE8, 0xE8), 0)
        assert banner > 20_000, f"only {banner} banner pixels near the top"


def test_model_matrix_and_latency_chart_render(tmp_path):
    """Ten models of three providers: the matrix and the SVG chart, offline, without script."""
    summary = ten_model_summary()
    html = page(models_html(summary) + latency_html(summary))
    assert "<script" not in html
    path = tmp_path / "models.html"
    path.write_text(html, "utf-8")
    result = _chromium("--virtual-time-budget=2000", "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    providers = re.findall(r'<th class="provider edge" colspan="(\d+)">(\w+)</th>', dom)
    assert providers == [("4", "openai"), ("3", "anthropic"), ("3", "mistral")]
    assert len(re.findall(r'<th class="model[^"]*" title="[^"]*" data-model=', dom)) == 10
    rows = re.findall(r'<tr data-req="([A-Z]+-\d+)">(.*?)</tr>', dom, re.S)
    areas = Counter(requirement.area for requirement in requirements().values())
    chat_rows = areas["chat"] + areas["streaming"]
    assert len(rows) == chat_rows + areas["images"]  # every chat, stream and image requirement
    chat21 = dict(rows)["CHAT-21"]
    assert chat21.count('class="v failed"') == 1 and "claude-3-haiku: CHAT-21 failed" in chat21
    assert sum(cells.count('class="v failed"') for _, cells in rows) == 1
    assert sum(cells.count(">not judged<") for _, cells in rows) == chat_rows  # opus
    svg = re.search(r'<svg class="latency".*?</svg>', dom, re.S)
    assert svg is not None
    assert len(re.findall(r'<text [^>]*text-anchor="end">[a-z]+/', svg.group(0))) == 9
    assert svg.group(0).count("<rect") > 30
    assert len(re.findall(r"<tr><td>[a-z]+/", dom)) == 9, "one latency row per judged model"


def test_trend_page_renders(tmp_path):
    """Thirty nights of history: the trend page's charts and table, offline, without script."""
    from conformance.report.trend import trend_html
    from tests.test_merge_history import history_runs

    path = tmp_path / "trend.html"
    path.write_text(trend_html(history_runs(30), "history"), "utf-8")
    result = _chromium("--virtual-time-budget=2000", "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    charts = re.findall(r'<svg class="trend".*?</svg>', dom, re.S)
    assert len(charts) == 3
    assert charts[0].count("<rect ") >= 40  # 30 nights passed, 10 with CHAT-21 failed
    assert len(re.findall(r"<tr><td>2026-\d\d-\d\dT", dom)) == 30
    assert "<b>CHAT-21</b>" in dom[dom.index('id="trend-flaky"') :]
