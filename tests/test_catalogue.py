"""The catalogue and the checks name each other: no rule without a test, no test without a rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalogue import AREAS, requirements
from conformance.plugin import requirement_ids

ROOT = Path(__file__).resolve().parents[1]


class _Collector:
    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for req in requirement_ids(item):
                self.ids.setdefault(req, []).append(item.nodeid.split("[")[0])


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    collector = _Collector()
    reports = tmp_path_factory.mktemp("reports")
    code = pytest.main(
        ["--collect-only", "-qq", "--pyargs", "conformance.contract", "-p", "no:cacheprovider",
         "--profile=full", f"--report-dir={reports}"],
        plugins=[collector],
    )  # fmt: skip
    assert code == 0
    return collector.ids


def test_every_requirement_has_a_check(collected):
    missing = [r for r in requirements() if r not in collected]
    assert not missing, f"catalogue IDs no test names: {missing}"


def test_every_check_names_catalogued_requirements(collected):
    unknown = [r for r in collected if r not in requirements()]
    assert not unknown, f"tests name IDs missing from requirements.yaml: {unknown}"


def test_catalogue_names_the_tests_that_check_each_rule(collected):
    for req in requirements().values():
        found = {nodeid.split("conformance/contract/")[-1] for nodeid in collected.get(req.id, ())}
        assert set(req.tests) == found, (
            f"{req.id}: requirements.yaml lists tests {list(req.tests)}; "
            f"the checks marked with it are [{', '.join(sorted(found))}]"
        )


def test_catalogue_names_the_faults_that_prove_each_rule():
    from conformance.reference.faults import FAULTS

    for req in requirements().values():
        proving = sorted(f.name for f in FAULTS.values() if req.id in f.breaks)
        assert list(req.proven_by) == proving, (
            f"{req.id}: requirements.yaml lists proven_by {list(req.proven_by)}; "
            f"the faults pinned to it are [{', '.join(proving)}]"
        )
        # INFO is never a verdict, so no fault can break it; every other rule has a proof.
        assert bool(proving) == (req.level != "INFO"), req.id


def test_entries_are_well_formed():
    for req in requirements().values():
        assert re.fullmatch(r"[A-Z]{2,8}-\d{2}", req.id), req.id
        assert req.level in ("MUST", "SHOULD", "INFO"), req.id
        assert req.area in AREAS, req.id
        assert req.profile in ("smoke", "standard", "full"), req.id
        assert req.rule.endswith("."), req.id
        assert len(req.source) > 10, req.id


def test_must_rules_cite_the_document_or_its_reading():
    # interpretation.md: a MUST comes from the document's words (or HTTP/SSE it names).
    for req in requirements().values():
        if req.level == "MUST":
            assert re.search(r"Document|Interpretation|WHATWG|RFC", req.source), req.id


def test_ids_are_unique():
    text = (ROOT / "conformance" / "requirements.yaml").read_text()
    ids = re.findall(r"- id: (\S+)", text)
    assert len(ids) == len(set(ids)) == len(requirements())
