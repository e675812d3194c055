"""Session fixtures of the conformance checks: settings, client, models."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.catalogue import MODEL_PARAMETERS
from conformance.config.settings import Settings
from conformance.report.records import OBSERVATION
from conformance.session.model_choice import Models
from conformance.session.state import STATE, RunState, run_state
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With --models other than "cheapest", each model-dependent check runs per model."""
    state = metafunc.config.stash.get(STATE, None)
    models = state.models if state is not None else None
    if models is None or not models.per_model:
        return
    for name, surface in MODEL_PARAMETERS.items():
        chosen = models.chats if surface == "chat" else models.images
        # No model of a surface selected: left to the fixture, whose error says so (an
        # empty parameter set would be a skip, and a skip is no verdict).
        if name in metafunc.fixturenames and chosen:
            metafunc.parametrize(name, chosen, indirect=True, scope="session", ids=chosen)


@pytest.fixture(scope="session")
def chat_model(request: pytest.FixtureRequest, apex_models: Models) -> str:
    if hasattr(request, "param"):
        return str(request.param)
    if apex_models.chat is None:
        raise CouldNotJudge(f"no chat model found: {_notes(apex_models)}; {_hint(request, 'chat')}")
    return apex_models.chat


@pytest.fixture(scope="session")
def image_model(request: pytest.FixtureRequest, apex_models: Models) -> str:
    if hasattr(request, "param"):
        return str(request.param)
    # Never a skip: a surface the suite found no model for is not judged, and says why.
    if apex_models.image is None:
        raise CouldNotJudge(
            f"no image model found: {_notes(apex_models)}; {_hint(request, 'image')}"
        )
    return apex_models.image


def _hint(request: pytest.FixtureRequest, surface: str) -> str:
    selected = run_state(request.config).settings.models
    if selected != "cheapest":
        return f"--models={selected} selects no {surface} model"
    return f"pass --{surface}-model=<id>"


def _notes(models: Models) -> str:
    return "; ".join(models.notes)
