"""The README's promises: every option documented, the two commands, what CI runs, and
documentation that stands on its own in a clone."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from conformance.config.options import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The README's two commands, as a reader copies them.
MAIN_JOB = "pip install -e . && pytest"
SELF_TESTS = "pip install -e '.[test]' && pytest tests -n 2"
# The workspace a repository may sit in, beside it; spelled in two parts so that this file
# does not mention it.
OUTSIDE = re.compile(r"\.\./" + r"shared\b|\bshared/(?:spec|research)/")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.flag)
def test_option_in_readme_table(option):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{option.flag}`")), "")
    assert f"`{option.env}`" in row, f"README's option table lacks {option.flag} / {option.env}"


def test_readme_makes_a_venv_before_the_first_pip_install():
    # A stock Debian/Ubuntu Python refuses pip outside a venv (externally-managed-environment).
    venv = README.find("```sh\npython3 -m venv .venv && . .venv/bin/activate\n```")
    assert 0 <= venv < README.find(MAIN_JOB), "the quick start lacks its venv step"


def test_readme_commands_are_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in (MAIN_JOB, SELF_TESTS):
        assert f"```sh\n{command}\n```" in README, f"the README lost {command!r}"
        assert command in ci, f".ci/run does not run {command!r} as the README writes it"
    assert ci.index(MAIN_JOB) < ci.index(SELF_TESTS), (
        "CI runs the main job first, before the test extras are installed"
    )


@cache
def repository_files() -> frozenset[str]:
    """What a clone has: files tracked or about to be (new and not ignored)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot tell what a clone would contain")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return frozenset(name for name in listed.split("\0") if (ROOT / name).is_file())


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.MULTILINE):
        slug, count = _slug(heading), 1
        while slug in found:  # GitHub numbers repeated headings: name, name-1, name-2
            slug, count = f"{_slug(heading)}-{count}", count + 1
        found.add(slug)
    return found


def links(document: Path) -> list[str]:
    prose = _prose(document.read_text())
    return LINK.findall(prose) + REFERENCE_LINK.findall(prose)


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_in_a_clone(document: Path):
    broken = []
    files = repository_files()
    for target in links(document):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):
            continue  # https:, mailto: and the like leave the repository on purpose
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
            continue
        name = resolved.relative_to(ROOT).as_posix()
        is_dir = any(f.startswith(f"{name}/") for f in files)
        if name not in files and not is_dir:
            broken.append(f"{target}: not in a clone")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{document.name}: " + "; ".join(broken)


def test_links_were_found():
    # The checker must see the links it is meant to check, or the test above is vacuous.
    found = links(ROOT / "README.md")
    assert "docs/decisions.md" in found
    assert "docs/levels-and-verdicts.md#4-freedoms-a-server-keeps" in found
    assert "summaryjson" in anchors(ROOT / "README.md")


def test_no_file_mentions_the_workspace_outside():
    mentions = []
    for name in sorted(repository_files()):
        try:
            text = (ROOT / name).read_text("utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                mentions.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not mentions, "files that point outside the repository:\n" + "\n".join(mentions)
