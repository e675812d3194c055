"""The import rule of docs/ARCHITECTURE.md: each package imports only the layers it may.

Every import counts, a deferred one inside a function too: it is a dependency all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"

# Package -> what it may import (a package, or one module of it). The table of
# docs/ARCHITECTURE.md; "conformance" alone is the package's face (its version).
ALLOWED: dict[str, set[str]] = {
    "vocabulary": set(),
    "catalogue": {"vocabulary"},
    "config": {"vocabulary", "config"},
    "transport": {"vocabulary", "config", "transport", "spec"},
    "spec": {"spec"},
    "internals": set(),
    "report": {"vocabulary", "catalogue", "report", "transport.redact"},
    "fuzzing": {"vocabulary", "transport", "spec", "fuzzing", "internals"},
    "contract": {
        "vocabulary", "catalogue", "config", "transport", "spec", "contract", "fuzzing",
        "session.state", "session.model_choice", "report.records",
    },
    "session": {
        "vocabulary", "catalogue", "config", "transport", "spec", "session", "report",
        "contract", "fuzzing", "reference", "evidence", "internals",
    },
    "evidence": {
        "evidence", "config", "transport", "report.records", "session.finish", "session.state",
        "session.inprocess",
    },
    "reference": {
        "vocabulary", "catalogue", "spec", "reference", "contract.cases", "contract.families",
        "session.inprocess",
    },
    "cli": {
        "vocabulary", "config", "report", "reference", "session", "evidence",
    },
}  # fmt: skip


def layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported(path: Path) -> set[str]:
    """Every conformance module the file imports, as a dotted path below `conformance`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "conformance":
                found.update(alias.name for alias in node.names if alias.name != "__version__")
            elif node.module.startswith("conformance."):
                found.add(node.module.removeprefix("conformance."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("conformance.")
                for a in node.names
                if a.name.startswith("conformance.")
            )
    return found


def allowed(source: str, target: str) -> bool:
    return any(target == rule or target.startswith(rule + ".") for rule in ALLOWED[source])


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_what_its_layer_may(path):
    source = layer(path)
    assert source in ALLOWED, f"{source} is not a layer of docs/ARCHITECTURE.md"
    wrong = sorted(t for t in imported(path) if not allowed(source, t))
    assert not wrong, f"{path.relative_to(PACKAGE)} ({source}) may not import {wrong}"


def test_the_rule_can_fail():
    # A report module importing the client is exactly what the rule exists to stop.
    assert not allowed("report", "transport.client")
    assert not allowed("transport", "session.state")
    assert allowed("report", "transport.redact")


def test_the_table_is_the_documented_one():
    text = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    for package, targets in ALLOWED.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{package}`")), "")
        assert row, f"docs/ARCHITECTURE.md has no row for {package}"
        for target in targets - {package}:
            assert f"`{target}`" in row, f"{package} may import {target}: the doc does not say so"
