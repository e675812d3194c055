"""A real API with an endpoint missing is judged, not "could not judge" (issue 19, item 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.reference.app import create_app
from conformance.reference.runner import generate_api_key
from conformance.reference.zoo import run_suite
from conformance.vocabulary import EXIT_COULD_NOT_JUDGE, EXIT_FAILED
from tests.partial_servers import HugeListing, Without, catch_all, serving
from tests.test_reports import run_with_reports

MODELS = ("--chat-model=openai/gpt-4o-mini", "--image-model=openai/dall-e-2")
# Without a list there is nothing to inspect: each says so and leaves it to MODELS-01.
LIST_DEPENDENT = {f"MODELS-0{n}" for n in (2, 3, 4, 5, 6, 7, 9)}
# INFO: it reads the WWW-Authenticate of GET /models' 401, and a missing route has none.
READS_THE_LIST_401 = "AUTH-11"


@pytest.fixture(scope="module")
def no_models() -> Iterator[tuple[str, str]]:
    key = generate_api_key()
    with serving(Without(create_app(key))) as url:
        yield url, key


def test_missing_model_list_fails_models01_and_the_rest_is_judged(no_models, standard_run):
    url, key = no_models
    run = run_suite(url, key, "standard", MODELS)
    assert run.exit_code == EXIT_FAILED, run.messages
    assert run.verdicts["MODELS-01"] == "failed"
    assert "expected 200 from GET /models" in " ".join(run.messages["MODELS-01"])
    stepped_aside = {r: v for r, v in run.verdicts.items() if r in LIST_DEPENDENT}
    assert stepped_aside and set(stepped_aside.values()) == {"skipped"}, stepped_aside
    for check, (_, verdict, message) in run.checks.items():
        if check.split("/")[0] in LIST_DEPENDENT:
            assert "MODELS-01 judges the list" in message, (check, verdict, message)
    assert run.verdicts[READS_THE_LIST_401] == "skipped"
    # Everything else gets the verdict the whole reference gets: judged, not cascaded.
    changed = {
        r: (standard_run.verdicts.get(r), v)
        for r, v in run.verdicts.items()
        if r not in LIST_DEPENDENT | {"MODELS-01", READS_THE_LIST_401}
        and v != standard_run.verdicts.get(r)
    }
    assert not changed, (changed, run.messages)


def test_without_a_list_or_a_model_option_the_message_names_the_option(no_models):
    url, key = no_models
    run = run_suite(url, key, "smoke", only=("CHAT-01/*", "MODELS-01/*"))
    assert run.exit_code == EXIT_FAILED, run.messages
    assert run.verdicts["MODELS-01"] == "failed"
    assert run.verdicts["CHAT-01"] == "error"
    message = " ".join(run.messages["CHAT-01"])
    assert "--chat-model=<id>" in message and "GET /models gave no model list" in message


def test_max_cost_says_what_it_cannot_meter(no_models):
    url, key = no_models
    run = run_suite(url, key, "smoke", (*MODELS, "--max-cost=1"), only=("MODELS-08/*",))
    observed = " ".join(message for _, _, message in run.checks.values())
    assert "openai/gpt-4o-mini: --max-cost cannot meter it" in observed


def test_a_key_refused_where_the_list_is_missing_is_the_key(no_models, tmp_path):
    url, _ = no_models
    run = run_with_reports(url, generate_api_key(), tmp_path, *MODELS, "-q")
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    reasons = " ".join(run.summary["gate"]["reasons"])
    assert "refused the key" in reasons and "APEX_API_KEY" in reasons


@pytest.mark.parametrize(
    ("missing", "failed", "passed"),
    [
        ("/v1/chat/completions", "CHAT-01", "IMG-01"),
        ("/v1/images/generations", "IMG-01", "CHAT-01"),
    ],
    ids=["images-only", "chat-only"],
)
def test_a_missing_generation_endpoint_fails_its_requirement(missing, failed, passed):
    key = generate_api_key()
    with serving(Without(create_app(key), "/v1/models", missing)) as url:
        run = run_suite(url, key, "smoke", MODELS, only=("MODELS-01/*", "IMG-01/*", "CHAT-01/*"))
    assert run.exit_code == EXIT_FAILED, run.messages
    assert run.verdicts["MODELS-01"] == "failed"
    assert run.verdicts[passed] == "passed"
    assert run.verdicts[failed] == "failed", (run.verdicts, run.messages)


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, b'{"error": {"message": "Not found", "type": "invalid_request_error"}}'), (200, b"{}")],
    ids=["error-envelope", "empty-object"],
)
def test_a_catch_all_json_answer_is_still_no_api(status, body):
    with serving(catch_all(status, body)) as url:
        run = run_suite(url, generate_api_key(), "smoke", MODELS)
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    assert run.verdicts and all(v == "error" for v in run.verdicts.values())


def test_an_oversized_model_list_is_named_and_judged_by_models01():
    key = generate_api_key()
    with serving(HugeListing(create_app(key), 30 * 2**20)) as url:
        run = run_suite(url, key, "smoke", MODELS, only=("MODELS-01/*", "CHAT-01/*"))
    assert run.exit_code == EXIT_FAILED, run.messages
    assert run.verdicts["CHAT-01"] == "passed"
    message = " ".join(run.messages["MODELS-01"])
    assert "larger than the suite's cap" in message
    assert "no OpenAI-format API" not in message
