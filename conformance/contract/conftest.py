"""Session fixtures of the conformance checks: settings, client, models."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.config.settings import Settings
from conformance.report.records import OBSERVATION
from conformance.session.model_choice import Models
from conformance.session.state import RunState, run_state
from conformance.transport.client import ApexClient, CouldNotJudge


@pytest.fixture(scope="session")
def apex_state(pytestconfig: pytest.Config) -> RunState:
    return run_state(pytestconfig)


@pytest.fixture(scope="session")
def apex_settings(apex_state: RunState) -> Settings:
    return apex_state.settings


@pytest.fixture(scope="session")
def apex(apex_state: RunState) -> ApexClient:
    return apex_state.client


@pytest.fixture(scope="session")
def apex_models(apex_state: RunState, apex: ApexClient) -> Models:
    return apex_state.chosen_models()


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record what an INFO check saw; the report shows it as the check's message."""

    def record(text: str) -> None:
        request.node.user_properties.append((OBSERVATION, text))

    return record


@pytest.fixture(scope="session")
def chat_model(apex_models: Models) -> str:
    if apex_models.chat is None:
        raise CouldNotJudge(f"no chat model found: {_notes(apex_models)}; pass --chat-model=<id>")
    return apex_models.chat


@pytest.fixture(scope="session")
def image_model(apex_models: Models) -> str:
    # Never a skip: a surface the suite found no model for is not judged, and says why.
    if apex_models.image is None:
        raise CouldNotJudge(f"no image model found: {_notes(apex_models)}; pass --image-model=<id>")
    return apex_models.image


def _notes(models: Models) -> str:
    return "; ".join(models.notes)
