"""The contract model and its families: derived from the OpenAPI file, judged at the right
level, sampled within bounds, and each generated mutant breaks exactly its own case."""

from __future__ import annotations

import pytest

from conformance.contract import families
from conformance.contract.cases import CHAT
from conformance.fuzzing.oracle import CHAT as CHAT_LABEL
from conformance.fuzzing.oracle import IMAGES as IMAGE_LABEL
from conformance.fuzzing.oracle import must_violations
from conformance.reference import mutants
from conformance.spec import contract_model, schemas

LABELS = {"ChatCompletionRequest": CHAT_LABEL, "ImageRequest": IMAGE_LABEL}
VALID_BODIES = {
    "ChatCompletionRequest": {
        "model": "openai/gpt-4o",
        "messages": [{"role": "user", "content": "Say OK."}],
        "max_tokens": 16,
    },
    "ImageRequest": {"model": "openai/dall-e-3", "prompt": "A lighthouse at dusk."},
}


def test_every_documented_parameter_is_modelled():
    spec = schemas.spec()["components"]["schemas"]
    for component in contract_model.OPERATIONS:
        documented = set(spec[component]["properties"])
        modelled = {p.name for p in contract_model.parameters() if p.component == component}
        assert modelled == documented


def test_every_invalid_value_has_a_requirement():
    # A parameter added to the OpenAPI file gets values; its rule must be named for them.
    for generated in families.invalid_cases():
        assert generated.requirement, generated.id


@pytest.mark.parametrize(
    "value",
    [v for p in contract_model.parameters() for v in contract_model.values(p)],
    ids=lambda v: f"{v.parameter.component}:{v.label}",
)
def test_levels_agree_with_the_fuzzer(value):
    """A value's level is what fuzzing.must_violations makes of a whole body carrying it."""
    component = value.parameter.component
    body = {**VALID_BODIES[component], value.parameter.name: value.value}
    must_invalid = bool(must_violations(LABELS[component], body))
    if value.kind == "valid":
        assert not schemas.validate(component, body), value.label
    else:
        assert must_invalid == (value.level == "MUST"), value.label


def test_no_invalid_value_is_a_valid_one():
    valid = {(p.path, repr(p_value)) for p, p_value in _valid_pairs()}
    for generated in families.invalid_cases():
        ((name, value),) = generated.case.change.items()
        assert (generated.case.path, repr({name: value})) not in valid


def _valid_pairs():
    for param in contract_model.parameters():
        for value in contract_model.values(param):
            if value.kind == "valid":
                yield param, {param.name: value.value}


def test_standard_sample_is_bounded_and_seeded():
    standard = families.sizes("standard", 1)
    for family, quota in families.QUOTAS.items():
        assert standard.get(family, 0) <= quota["smoke"] + quota["standard"]
    full = families.sizes("full", 1)
    assert sum(full.values()) == len(families.invalid_cases()) + len(families.valid_probes())
    chosen = {
        seed: {g.id for g in families.invalid_cases() if families.profile_of(g, seed) != "full"}
        for seed in (1, 2)
    }
    assert chosen[1] != chosen[2], "another seed samples other cases"


def test_each_accept_mutant_accepts_exactly_its_case():
    components = {path: c for c, path in contract_model.OPERATIONS.items()}
    bodies = {
        g.id: (g.case.path, {**VALID_BODIES[components[g.case.path]], **g.case.change})
        for g in families.invalid_cases()
    }
    for name, generated in mutants.ACCEPTING.items():
        for ident, (path, body) in bodies.items():
            changed = mutants.accept(path, body, [name]) != body
            assert changed == (ident == generated.id), (name, ident)


def test_each_refuse_mutant_refuses_exactly_its_probe():
    probes = families.valid_probes()
    for name, generated in mutants.REFUSING.items():
        for probe in probes:
            model = "openai/gpt-4o-mini" if probe.case.path == CHAT else "openai/dall-e-2"
            body = families.probe_body(probe.case.path, dict(probe.case.change), model)
            try:
                mutants.refuse(probe.case.path, body, [name])
                refused = False
            except Exception:
                refused = True
            assert refused == (probe is generated), (name, probe.id)
