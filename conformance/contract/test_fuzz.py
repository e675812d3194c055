"""Schema fuzzing: requests generated from openapi/apexapi.yaml (FUZZ-01, FUZZ-02).

One pytest item per operation and test. Counts and seed follow the run's profile and
--seed (conformance.fuzzing.config.EXAMPLES); generated chat requests never ask for more than 16
tokens and positive image requests for one image. Only session-scoped fixtures are used:
Hypothesis runs many examples inside one item (research: pitfall 5).
"""

from __future__ import annotations

import pytest
import schemathesis

from conformance.fuzzing.config import schema_config, tune
from conformance.fuzzing.oracle import CHAT, IMAGES
from conformance.fuzzing.sending import Fuzzer
from conformance.session.model_choice import Models
from conformance.session.state import STATE, RunState
from conformance.spec.schemas import spec_path
from conformance.transport.client import CouldNotJudge

# Two loads of the same file: the generation mode is part of a schema's config.
# GET /models takes no input: nothing in it can be made invalid, so it has no negative test.
NEGATIVE = schemathesis.openapi.from_path(spec_path(), config=schema_config(negative=True)).exclude(
    method="GET", path="/models"
)
POSITIVE = schemathesis.openapi.from_path(spec_path(), config=schema_config(negative=False))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # schemathesis calls this once per operation, after building its Hypothesis test; the
    # run's settings exist by then.
    state = metafunc.config.stash.get(STATE, None)
    tune(
        metafunc,
        negative=metafunc.definition.name == "test_fuzz_negative",
        profile=state.settings.profile if state is not None else "standard",
        seed=state.settings.seed if state is not None else 0,
    )


@pytest.fixture(scope="session")
def fuzzer(apex_state: RunState, apex_models: Models) -> Fuzzer:
    # The run's one client: its limits, retries, cache, waves and answers.
    return Fuzzer(client=apex_state.client, models=apex_models)


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
    if fuzzer.examples.count_for(label, negative=False) == 0:
        pytest.skip(f"valid {label} requests are fuzzed in profile full (each is paid)")
    if label == IMAGES and fuzzer.models.image is None:
        pytest.skip("no image model to generate valid image requests for")
    if label == CHAT and fuzzer.models.chat is None:
        # Generated model ids do not exist: every request would end in "unknown model".
        raise CouldNotJudge("no chat model to generate valid chat requests for")
    fuzzer.run(case, negative=False)
