"""Which fault proves which check: the check-level proof, and requirements.yaml's
`tests:` and `proven_by:` generated from the checks and the fault zoo.

`python -m conformance.reference.proof --write` regenerates them; `--check` says whether
the file is up to date, and `--unproven` lists the check IDs no fault proves.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import conformance
from conformance.catalogue import item_check_id, matching, requirement_ids, requirements
from conformance.vocabulary import LEVEL_RANK, PROFILES, Level


@dataclass(frozen=True)
class Check:
    """One collected contract check."""

    id: str
    requirements: tuple[str, ...]
    level: Level
    test: str  # file::function under conformance/contract/
    profile: str  # the smallest profile that runs it
    family: str | None = None  # the generated family it belongs to (contract/families.py)


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
                marker = item.get_closest_marker("family")
                family = str(marker.args[0]) if marker is not None else None
                found.append(Check(ident, ids, level, test, check_profile(item), family))

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

_SOURCE = Path(conformance.__file__).with_name("requirements.yaml")


def generated_fields(checks: list[Check]) -> dict[str, dict[str, list[str]]]:
    """Each requirement's tests (file::function), the faults that prove its checks, and the
    generated families that check it with their sizes per profile (at the default seed)."""
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
    for req, sizes in _family_sizes(checks).items():
        fields[req]["families"] = [
            f"{family}: {{{', '.join(f'{p}: {n}' for p, n in counts.items())}}}"
            for family, counts in sorted(sizes.items())
        ]
    return fields


def _family_sizes(checks: list[Check]) -> dict[str, dict[str, dict[str, int]]]:
    """Requirement -> family -> profile -> how many of its checks that profile runs."""
    sizes: dict[str, dict[str, dict[str, int]]] = {}
    for check in checks:
        if check.family is None:
            continue
        counts = sizes.setdefault(check.requirements[0], {}).setdefault(
            check.family, dict.fromkeys(PROFILES, 0)
        )
        for profile in PROFILES[PROFILES.index(check.profile) :]:  # type: ignore[arg-type, unused-ignore]
            counts[profile] += 1
    return sizes


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
        key = re.match(r"    (tests|proven_by|families):", line)
        if key is not None:
            while i < len(lines) and lines[i].startswith("      "):
                i += 1  # a block's items go with its key
            continue
        out.append(line)
        if current is not None and line.startswith("    profile:"):
            for name in ("tests", "proven_by"):
                out.extend(_yaml_list(name, fields.get(current, {}).get(name, [])))
            if families := fields.get(current, {}).get("families"):
                out.extend(["    families:", *(f"      {f}" for f in families)])
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
        prog="python -m conformance.reference.proof", description=main.__doc__
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
        print(
            f"{_SOURCE} is stale: run python -m conformance.reference.proof --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
