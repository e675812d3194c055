"""Schema fuzzing: requests generated from openapi/apexapi.yaml (FUZZ-01, FUZZ-02).

One pytest item per operation and test. Counts and seed follow the run's profile and
--seed (conformance.fuzzing.PLANS); generated chat requests never ask for more than 16
tokens and positive image requests for one image. Only session-scoped fixtures are used:
Hypothesis runs many examples inside one item (research: pitfall 5).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis

from conformance import fuzzing
from conformance.config.settings import Settings
from conformance.session.model_choice import Models
from conformance.session.state import RunState
from conformance.spec.schemas import spec_path
from conformance.transport.client import CouldNotJudge

# Two loads of the same file: the generation mode is part of a schema's config.
# GET /models takes no input: nothing in it can be made invalid, so it has no negative test.
NEGATIVE = schemathesis.openapi.from_path(
    spec_path(), config=fuzzing.config(negative=True)
).exclude(method="GET", path="/models")
POSITIVE = schemathesis.openapi.from_path(spec_path(), config=fuzzing.config(negative=False))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # schemathesis calls this once per operation, after building its Hypothesis test.
    fuzzing.tune(metafunc, negative=metafunc.definition.name == "test_fuzz_negative")


@pytest.fixture(scope="session")
def fuzzer(
    apex_state: RunState, apex_settings: Settings, apex_models: Models
) -> Iterator[fuzzing.Fuzzer]:
    fuzzer = fuzzing.Fuzzer(
        settings=apex_settings,
        models=apex_models,
        spend=apex_state.spend,
        budget=apex_state.budget,
        limiter=apex_state.limiter,
        touched=apex_state.client.touched,
        dispatch=apex_state.client.dispatch,
        inflight=apex_state.client.inflight,
    )
    yield fuzzer
    fuzzer.close()


@pytest.mark.fuzz
@pytest.mark.requirement("FUZZ-01")
@NEGATIVE.parametrize()
def test_fuzz_negative(case, fuzzer):
    """Invalid requests: rejected with a 4xx where the document says so, never a 5xx."""
    fuzzer.run(case, negative=True)


@pytest.mark.fuzz
@pytest.mark.requirement("FUZZ-02")
@POSITIVE.parametrize()
def test_fuzz_positive(case, fuzzer):
    """Valid requests: no 5xx, documented statuses, and 2xx bodies that match the schemas."""
    label = case.operation.label
    if fuzzer.plan.examples_for(label, negative=False) == 0:
        pytest.skip(f"valid {label} requests are fuzzed in profile full (each is paid)")
    if label == fuzzing.IMAGES and fuzzer.models.image is None:
        pytest.skip("no image model to generate valid image requests for")
    if label == fuzzing.CHAT and fuzzer.models.chat is None:
        # Generated model ids do not exist: every request would end in "unknown model".
        raise CouldNotJudge("no chat model to generate valid chat requests for")
    fuzzer.run(case, negative=False)
