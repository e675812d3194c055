"""Every documented request parameter, from the contract model: valid values are taken,
the invalid ones beside them are refused (contract/families.py generates both)."""

from __future__ import annotations

import pytest

from conformance.contract import families
from conformance.contract.assertions import accepted, rejected, shown
from conformance.session.state import STATE


def _seed(config):
    state = config.stash.get(STATE, None)
    if state is not None:
        return state.settings.seed
    from conformance.config.settings import Settings

    return Settings.seed


def _params(generated, seed):
    return [
        pytest.param(
            g,
            id=g.id,
            marks=[
                pytest.mark.requirement(g.requirement),
                pytest.mark.profile(families.profile_of(g, seed)),
                pytest.mark.family(g.family),
            ],
        )
        for g in generated
    ]


def pytest_generate_tests(metafunc):
    """The cases are parametrized here, where the run's --seed is known."""
    seed = _seed(metafunc.config)
    if "invalid" in metafunc.fixturenames:
        metafunc.parametrize("invalid", _params(families.invalid_cases(), seed))
    elif "probe" in metafunc.fixturenames:
        must = metafunc.function.__name__ == "test_valid_value_accepted"
        chosen = [g for g in families.valid_probes() if g.must_accept is must]
        metafunc.parametrize("probe", _params(chosen, seed))


def test_invalid_value_rejected(apex, apex_models, invalid):
    rejected(invalid.case.send(apex, apex_models), invalid.case.what)


def test_valid_value_accepted(apex, apex_models, probe):
    exchange = families.send_probe(probe, apex, apex_models, None)
    accepted(exchange, f"{probe.case.what} (a value the document makes valid)")


def test_valid_edge_no_server_error(apex, apex_models, probe):
    exchange = families.send_probe(probe, apex, apex_models, None)
    # A 4xx is the target's right here (a model's sizes, a provider's floor); a 5xx never is.
    assert exchange.status < 500, (
        f"a valid request ({probe.case.what}) got a server error: {shown(exchange)}"
    )
