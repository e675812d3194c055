"""Every check proven: each faulty server fails exactly the requirement it is pinned to."""

from __future__ import annotations

import pytest

from conformance.mutants import run_fault
from conformance.reference.faults import FAULTS, VARIANTS


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_caught_by_its_pinned_requirement(zoo, name):
    origin, key = zoo
    outcome = run_fault(origin, key, name)
    assert not outcome.missed(), (
        f"{name}: pinned {outcome.missed()} did not fail; verdicts "
        f"{ {r: outcome.verdicts.get(r) for r in outcome.expected} }"
    )
    assert not outcome.collateral(), (
        f"{name}: unrelated MUST requirements failed: "
        f"{ {r: outcome.messages.get(r) for r in outcome.collateral()} }"
    )


@pytest.mark.parametrize("name", ["clean", "variant-freedoms"])
def test_conforming_servers_pass_full_profile(zoo, name):
    origin, key = zoo
    outcome = run_fault(origin, key, name)
    bad = {r: v for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error")}
    assert outcome.exit_code == 0
    assert not bad, {r: outcome.messages.get(r) for r in bad}


def test_variants_are_known():
    assert set(VARIANTS) == {"variant-freedoms", "variant-slow"}
