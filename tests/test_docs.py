"""The README's promises: every option documented, the two commands, what CI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.options import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.flag)
def test_option_in_readme_table(option):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{option.flag}`")), "")
    assert f"`{option.env}`" in row, f"README's option table lacks {option.flag} / {option.env}"


def test_readme_commands_are_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e . && pytest" in README
    assert "pip install -e '.[test]' && pytest tests -n 2" in README
    assert "pip install --quiet -e '.[test]'" in ci
    assert "pytest tests -n 2" in ci
    assert "\npytest\n" in ci
