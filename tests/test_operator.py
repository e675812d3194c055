"""The operator's seat: the command line reads what was meant and leaves nothing behind."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.config.options import OPTIONS
from conformance.report.stub import write_stub_reports
from conformance.session.cmdline import with_equals

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("flag", [o.flag for o in OPTIONS])
def test_every_suite_option_with_a_path_after_a_space_is_joined(flag, tmp_path):
    args = ["-x", flag, str(tmp_path), "conformance/contract"]
    assert with_equals(args) == ["-x", f"{flag}={tmp_path}", "conformance/contract"]


def test_values_that_are_no_paths_and_what_follows_a_double_dash_are_left(tmp_path):
    args = ["--seed", "7", "--models", "openai/*", "--", "--waivers", str(tmp_path)]
    assert with_equals(args) == args


def test_serve_refuses_a_key_of_another_form(capsys):
    assert main(["serve", "--port=0", "--api-key=sk-not-an-apex-key"]) == 4
    error = capsys.readouterr().err
    assert "ak-" in error and "sk-not-an-apex-key" not in error


def test_serve_help_shows_the_default_port_and_zero(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "default 8080; 0: any free one" in capsys.readouterr().out


def test_gitignore_names_only_files_that_exist():
    for line in (ROOT / ".gitignore").read_text().splitlines():
        if line.startswith("!"):
            assert (ROOT / line[1:]).exists(), f".gitignore keeps {line[1:]}, which does not exist"


def test_run_outside_the_checkout_leaves_only_the_reports(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APEX_", "PYTEST_"))}
    command = [sys.executable, "-m", "conformance.cli", "run", "--profile=smoke", "-q"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


@pytest.fixture(scope="module")
def should_run(zoo, tmp_path_factory):
    """A smoke run against a server that breaks AUTH-07, a SHOULD: warned under fail-on=must."""
    from tests.test_reports import run_with_reports

    origin, key = zoo
    folder = tmp_path_factory.mktemp("should")
    run_with_reports(f"{origin}/faults/auth-400/v1", key, folder, "--profile=smoke")
    return folder


def test_the_all_checks_table_says_warned_for_a_warned_check(should_run):
    # pytest-html keeps the table's rows as JSON in the page.
    page = html.unescape((should_run / "conformance.html").read_text()).replace('\\"', '"')
    assert 'col-result">Warned' in page
    assert 'col-result">Passed' in page  # the others still pass


def test_the_readme_names_every_key_of_summary_json(should_run):
    summary = json.loads((should_run / "summary.json").read_text())
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## `summary.json`") :]
    table = table[: table.index("\n## ")]
    parts = {
        "": summary,
        "run.": summary["run"],
        "gate.": summary["gate"],
        "requirements[].": summary["requirements"][0],
        "checks[].": summary["checks"][0],
    }
    missing = [p + key for p, part in parts.items() for key in part if f"`{key}`" not in table]
    assert not missing, f"the README's summary.json tables lack {missing}"


def test_the_readme_counts_the_faults():
    from conformance.reference.faults import FAULTS

    cases = sum(1 for name in FAULTS if name.startswith("case-"))
    mutants = sum(1 for name in FAULTS if name.startswith("mut-"))
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"Today: {len(FAULTS)} faults, {cases + mutants} of them generated" in readme
    assert f"{cases} accept exactly one invalid-request case" in readme
    assert f"{mutants} are mutants of the contract families" in readme


def test_a_usage_error_page_names_its_target_in_a_sans_serif_heading(tmp_path):
    write_stub_reports(tmp_path, "usage-error", "--profile: 'fulll'", "https://gw.example/v1")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["run"]["target"] == "https://gw.example/v1"
    page = (tmp_path / "conformance.html").read_text()
    assert "https://gw.example/v1" in page
    assert "body{font-family:" in page and "sans-serif" in page
