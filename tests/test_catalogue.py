"""The catalogue and the checks name each other: no rule without a check, no check without a
rule, no check without a fault that proves it; requirements.yaml's tests: and proven_by: are
generated from the code (python -m conformance.reference.proof --write) and must not drift."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from conformance.catalogue import AREAS, check_id, matching, requirements, slug
from conformance.reference.faults import FAULTS
from conformance.reference.proof import (
    Check,
    collect_checks,
    generated_fields,
    proofs,
    render,
    unproven,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "conformance" / "requirements.yaml"


@pytest.fixture(scope="module")
def checks() -> list[Check]:
    return collect_checks()


def test_check_id_scheme():
    assert (
        check_id("AUTH-05", "test_credentials_refused", "chat:last character changed")
        == "AUTH-05/credentials-refused/chat-last-character-changed"
    )
    assert check_id("CHAT-01", "test_minimal_request_answered") == (
        "CHAT-01/minimal-request-answered"
    )
    assert slug(' --Temperature "0.5"! ') == "temperature-0-5"


def test_check_ids_are_unique(checks):
    repeated = [ident for ident, n in Counter(c.id for c in checks).items() if n > 1]
    assert not repeated, f"two checks share an ID (rename a parameter): {repeated}"


def test_every_requirement_has_a_check(checks):
    named = {r for c in checks for r in c.requirements}
    missing = [r for r in requirements() if r not in named]
    assert not missing, f"catalogue IDs no check names: {missing}"


def test_every_check_is_proven(checks):
    missing = unproven(checks)
    assert not missing, (
        f"{len(missing)} of {len(proofs(checks))} checks have no fault pinned to them "
        "(Fault.checks in conformance/reference/faults.py):\n" + "\n".join(missing)
    )


def test_info_checks_are_never_pinned(checks):
    # INFO is never a verdict, so no fault can make an INFO check fail.
    info = [c.id for c in checks if c.level == "INFO"]
    pinned = {name: matching(info, f.checks) for name, f in FAULTS.items()}
    assert not {name: ids for name, ids in pinned.items() if ids}


def test_requirements_yaml_is_generated(checks):
    text = SOURCE.read_text("utf-8")
    assert render(text, generated_fields(checks)) == text, (
        "requirements.yaml's tests: or proven_by: are stale: "
        "run python -m conformance.reference.proof --write"
    )


def test_every_non_info_requirement_is_proven():
    for req in requirements().values():
        assert bool(req.proven_by) == (req.level != "INFO"), req.id


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
    ids = re.findall(r"- id: (\S+)", SOURCE.read_text())
    assert len(ids) == len(set(ids)) == len(requirements())
