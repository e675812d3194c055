"""The requirement catalogue (requirements.yaml), loaded once, and the check IDs of its checks.

`python -m conformance.catalogue --write` regenerates each entry's `tests:` and `proven_by:`
from the checks and the fault zoo; `--check` says whether the file is up to date, and
`--unproven` lists the check IDs no fault proves.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    import pytest

Level = Literal["MUST", "SHOULD", "INFO"]

AREAS = {
    "http": "HTTP",
    "errors": "Errors",
    "auth": "Authentication",
    "models": "Models",
    "chat": "Chat completions",
    "streaming": "Streaming (SSE)",
    "images": "Image generation",
    "fuzzing": "Schema fuzzing",
}


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    area: str
    rule: str
    source: str
    profile: str
    # The checks that judge it (file::function under conformance/contract/) and the
    # reference faults that prove those checks can fail; self-tests keep both true.
    tests: tuple[str, ...] = ()
    proven_by: tuple[str, ...] = ()


@cache
def requirements() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    text = resources.files("conformance").joinpath("requirements.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)["requirements"]
    return {entry["id"]: _requirement(entry) for entry in entries}


def _requirement(entry: dict[str, Any]) -> Requirement:
    return Requirement(
        id=entry["id"],
        level=entry["level"],
        area=entry["area"],
        rule=entry["rule"],
        source=entry["source"],
        profile=entry["profile"],
        tests=tuple(entry.get("tests", ())),
        proven_by=tuple(entry.get("proven_by", ())),
    )


# --- check IDs ------------------------------------------------------------------------

LEVEL_RANK = {"INFO": 0, "SHOULD": 1, "MUST": 2}


def slug(text: str) -> str:
    """Lower case, every run of non-alphanumerics one "-", none at either end."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def check_id(requirement: str, function: str, param: str | None = None) -> str:
    """`REQ/func-slug[/param-slug]`: AUTH-05/credentials-refused/chat-last-character-changed."""
    parts = [requirement, function.removeprefix("test_").replace("_", "-")]
    if param:
        parts.append(slug(param))
    return "/".join(parts)


def requirement_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs a check is marked with, the closest (its parameter's) first."""
    return [str(i) for mark in item.iter_markers("requirement") for i in mark.args]


def item_check_id(item: pytest.Item) -> str | None:
    """The check ID of a collected contract check; None when it judges no requirement."""
    ids = requirement_ids(item)
    if not ids:
        return None
    function, _, param = item.name.partition("[")
    callspec = getattr(item, "callspec", None)
    # schemathesis parametrizes without a callspec: its id is only in the item's name.
    return check_id(ids[0], function, callspec.id if callspec is not None else param[:-1])


def matches(check: str, pattern: str) -> bool:
    """Whether a check ID matches a fault's pattern; a bare requirement ID means all its checks."""
    return fnmatchcase(check, pattern if "/" in pattern else f"{pattern}/*")


def matching(checks: Iterable[str], patterns: Iterable[str]) -> list[str]:
    wanted = tuple(patterns)
    return [c for c in checks if any(matches(c, p) for p in wanted)]


@dataclass(frozen=True)
class Check:
    """One collected contract check."""

    id: str
    requirements: tuple[str, ...]
    level: Level
    test: str  # file::function under conformance/contract/
    profile: str  # the smallest profile that runs it


PROFILES = ("smoke", "standard", "full")


def check_profile(item: pytest.Item) -> str:
    """The smallest profile whose run includes the check (its marker, else its requirements')."""
    marker = item.get_closest_marker("profile")
    if marker is not None:
        return str(marker.args[0])
    return min((requirements()[i].profile for i in requirement_ids(item)), key=PROFILES.index)


def collect_checks(profile: str = "full") -> list[Check]:
    """Every check of the suite, collected in this process (against the embedded server)."""
    import tempfile

    import pytest

    found: list[Check] = []
    catalogue = requirements()

    class _Collector:
        def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
            for item in items:
                ident = item_check_id(item)
                if ident is None:
                    continue
                ids = tuple(requirement_ids(item))
                level = max((catalogue[i].level for i in ids), key=LEVEL_RANK.__getitem__)
                test = item.nodeid.split("[")[0].split("conformance/contract/")[-1]
                found.append(Check(ident, ids, level, test, check_profile(item)))

    with tempfile.TemporaryDirectory(prefix="apex-collect-") as reports, _quiet():
        args = ["--collect-only", "-qq", "--pyargs", "conformance.contract", "-p",
                "no:cacheprovider", "-p", "no:randomly", f"--profile={profile}",
                f"--report-dir={reports}", "-o", "addopts="]  # fmt: skip
        code = pytest.main(args, plugins=[_Collector()])
    if code != 0:
        raise RuntimeError(f"collecting the checks failed (pytest exit {code})")
    return found


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def proofs(checks: Iterable[Check]) -> dict[str, list[str]]:
    """For each non-INFO check ID, the faults pinned to it (an empty list: unproven)."""
    from conformance.reference.faults import FAULTS

    proving: dict[str, list[str]] = {c.id: [] for c in checks if c.level != "INFO"}
    for fault in FAULTS.values():
        for ident in matching(proving, fault.checks):
            proving[ident].append(fault.name)
    return proving


def unproven(checks: Iterable[Check]) -> list[str]:
    return [ident for ident, faults in proofs(checks).items() if not faults]


# --- tests: and proven_by: in requirements.yaml, generated ------------------------------

_SOURCE = Path(__file__).with_name("requirements.yaml")


def generated_fields(checks: list[Check]) -> dict[str, dict[str, list[str]]]:
    """Each requirement's tests (file::function) and the faults that prove its checks."""
    proving = proofs(checks)
    fields: dict[str, dict[str, list[str]]] = {
        r: {"tests": [], "proven_by": []} for r in requirements()
    }
    for check in checks:
        for req in check.requirements:
            if check.test not in fields[req]["tests"]:
                fields[req]["tests"].append(check.test)
        first = fields[check.requirements[0]]["proven_by"]
        first.extend(f for f in proving.get(check.id, ()) if f not in first)
    for entry in fields.values():
        entry["tests"].sort()
        entry["proven_by"].sort()
    return fields


def render(text: str, fields: dict[str, dict[str, list[str]]]) -> str:
    """requirements.yaml text with every entry's tests: and proven_by: replaced by `fields`."""
    out: list[str] = []
    current: str | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if match := re.match(r"  - id: (\S+)$", line):
            current = match[1]
        key = re.match(r"    (tests|proven_by):", line)
        if key is not None:
            while i < len(lines) and lines[i].startswith("      - "):
                i += 1  # a block list's items go with its key
            continue
        out.append(line)
        if current is not None and line.startswith("    profile:"):
            for name in ("tests", "proven_by"):
                out.extend(_yaml_list(name, fields.get(current, {}).get(name, [])))
    return "\n".join(out) + "\n"


def _yaml_list(key: str, values: list[str]) -> list[str]:
    flow = f"    {key}: [{', '.join(values)}]"
    if len(flow) <= 100:
        return [flow]
    return [f"    {key}:", *(f"      - {v}" for v in values)]


def main(argv: list[str] | None = None) -> int:
    """--write regenerates, --check diffs (exit 1 when stale), --unproven lists check IDs."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m conformance.catalogue", description=main.__doc__
    )
    action = parser.add_mutually_exclusive_group(required=True)
    for flag in ("--write", "--check", "--unproven"):
        action.add_argument(flag, action="store_true")
    args = parser.parse_args(argv)
    checks = collect_checks()
    if args.unproven:
        missing = unproven(checks)
        print("\n".join(missing) or "every check is proven")
        print(f"{len(missing)} of {len(proofs(checks))} checks unproven", file=sys.stderr)
        return 1 if missing else 0
    text = _SOURCE.read_text("utf-8")
    new = render(text, generated_fields(checks))
    if args.write:
        _SOURCE.write_text(new, "utf-8")
        return 0
    if new != text:
        print(f"{_SOURCE} is stale: run python -m conformance.catalogue --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
