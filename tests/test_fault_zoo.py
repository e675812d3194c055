"""Every check proven: each faulty server fails exactly the checks it is pinned to.

A fault proves its pinned checks (Fault.checks) when each fails (warns, for SHOULD) and no
other MUST check fails, save those its may_also_break allows. tests/test_catalogue.py
lists the checks no fault is pinned to.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from conformance.catalogue import matching
from conformance.contract.cases import CASES
from conformance.reference import ServerThread, create_app, generate_api_key
from conformance.reference.case_faults import CASE_FAULTS
from conformance.reference.faults import FAULTS, VARIANTS
from conformance.reference.proof import Check, collect_checks
from conformance.reference.zoo import Outcome, run_fault, run_suite
from conformance.session.model_choice import Models

# One member of each scoped family runs against the whole suite: its scope claims that
# no check outside it can see the fault, and the family shares one code path.
WHOLE_RUNS = sorted(CASE_FAULTS)[:1]


@pytest.fixture(scope="module")
def known() -> list[Check]:
    return collect_checks()


def assert_proven(outcome: Outcome) -> None:
    name, pinned = outcome.name, outcome.pinned_checks
    missed, missed_requirements = outcome.missed_checks(), outcome.missed()
    collateral = outcome.check_collateral()
    assert pinned, f"{name}: its checks {FAULTS[name].checks} match no check"
    assert not missed, f"{name}: pinned checks did not fail: {', '.join(missed)}"
    assert not missed_requirements, f"{name}: pinned requirements did not fail"
    assert not collateral, f"{name}: unrelated MUST checks failed: {collateral}"


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_fails_exactly_its_checks(zoo, known, name):
    origin, key = zoo
    assert_proven(run_fault(origin, key, name, known))


@pytest.mark.parametrize("name", WHOLE_RUNS)
def test_scoped_fault_against_the_whole_suite(zoo, known, name):
    assert FAULTS[name].scope
    origin, key = zoo
    assert_proven(run_fault(origin, key, name, known, whole=True))


def test_unserved_route_is_no_auth_finding():
    """A 404 before any auth, from a route the target does not serve, is the surface's
    failure: not a refusal status (AUTH-07) nor a scheme finding (AUTH-08). The same 404 on
    a route the key reaches is a refusal status (fault auth-404)."""
    key = generate_api_key()
    inner = create_app(key)
    missing = JSONResponse({"error": {"message": "Invalid URL", "type": "invalid_request_error",
                                      "param": None, "code": "unknown_url"}}, 404)  # fmt: skip

    async def no_images(scope: Scope, receive: Receive, send: Send) -> None:
        route = missing if scope.get("path") == "/v1/images/generations" else inner
        await route(scope, receive, send)

    with ServerThread(no_images) as server:
        outcome = run_suite(
            server.base_url, key, "full", ("-m", "not fuzz"), only=("AUTH-07/*", "AUTH-08/*")
        )
    verdicts = {c: v for c, (_, v, _) in outcome.checks.items()}
    on_images = {c: v for c, v in verdicts.items() if "/images-" in c}
    assert on_images and set(on_images.values()) == {"skipped"}, on_images
    assert {v for c, v in verdicts.items() if c not in on_images} == {"passed"}, verdicts


def test_every_pin_matches_a_check(known):
    ids = [c.id for c in known]
    dead = {
        name: pattern
        for name, fault in FAULTS.items()
        for pattern in (*fault.checks, *fault.scope)
        if not matching(ids, [pattern])
    }
    assert not dead, f"fault patterns that match no check of the suite: {dead}"


def test_every_fault_is_pinned_to_checks():
    assert not [name for name, fault in FAULTS.items() if not fault.checks]


def test_case_faults_accept_exactly_their_case(zoo):
    """Each generated fault lets its own invalid request through and refuses all others."""
    origin, key = zoo
    models = Models(
        listing=[],
        chat="openai/gpt-4o-mini",
        image="openai/dall-e-2",
        image_request={"model": "openai/dall-e-2", "prompt": "a red square", "size": "256x256"},
    )
    bodies = [(case, case.body(models)) for case in CASES]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=origin, headers=headers, timeout=10) as client:
        for name, mine in [("clean", None), *CASE_FAULTS.items()]:
            prefix = "/clean" if mine is None else f"/faults/{name}"
            accepted = []
            for case, body in bodies:
                url = f"{prefix}/v1{case.path}"
                sent = {"content": body} if isinstance(body, bytes) else {"json": body}
                response = client.post(url, **sent)  # type: ignore[arg-type]
                if response.status_code < 400:
                    accepted.append(case.id)
                else:
                    assert response.status_code < 500, (name, case.id, response.text)
            assert accepted == ([] if mine is None else [mine.id]), name


def test_variants_are_known():
    # Conforming variants pass the whole suite (tests/test_variants.py); no fault is one.
    assert {"variant-freedoms", "variant-slow"} <= set(VARIANTS)
    assert all(name.startswith("variant-") and name not in FAULTS for name in VARIANTS)
