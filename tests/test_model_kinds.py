"""--models on a gateway whose model names do not say their kind (issue 19, item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.reference.app import create_app
from conformance.reference.runner import generate_api_key
from conformance.vocabulary import EXIT_FAILED, EXIT_OK
from tests.partial_servers import Renamed, serving
from tests.test_reports import Run, run_with_reports

TOKENS = {"prompt": "0.00015", "completion": "0.0006"}
# Every neighbour of "the name does not say": prices that settle it and prices that do not.
GATEWAY: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # a chat model, token prices only
    "acme/m1": ({"chat": "openai/gpt-4o-mini"}, TOKENS),
    # an image model priced per token (as some are): chat refuses it, images accept it
    "acme/m2": ({"images": "openai/dall-e-3"}, {"prompt": "0.005", "completion": "0.04"}),
    # a vision chat model: an image price for the images it reads
    "acme/echo-2": ({"chat": "openai/gpt-4o"}, {"prompt": "0.0025", "completion": "0.01",
                                                "image": "0.001"}),
    # priced per image and not per token: settled as an image model without asking chat
    "acme/pixel-1": ({"images": "openai/dall-e-2"}, {"prompt": "0", "completion": "0",
                                                     "image": "0.02"}),
    # both endpoints accept it
    "acme/omni": ({"chat": "openai/gpt-4o-mini", "images": "openai/dall-e-2"},
                  {**TOKENS, "image": "0.03"}),
}  # fmt: skip
CHATS = {"acme/m1", "acme/echo-2", "acme/omni"}
IMAGES = {"acme/m2", "acme/pixel-1", "acme/omni"}


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[str, str, Renamed]]:
    key = generate_api_key()
    app = Renamed(
        create_app(key),
        {model: routes for model, (routes, _) in GATEWAY.items()},
        {model: pricing for model, (_, pricing) in GATEWAY.items()},
    )
    with serving(app) as url:
        yield url, key, app


def _judged(run: Run) -> dict[str, set[str]]:
    """Model -> the areas (chat, streaming, images) of the checks that judged it."""
    areas: dict[str, set[str]] = {}
    for check in run.summary["checks"]:
        if check.get("model"):
            areas.setdefault(check["model"], set()).add(check["nodeid"].split("::")[0])
    return areas


def _per_model(run: Run) -> dict[str, Any]:
    return {m["id"]: (m["surface"], m["requirements"]) for m in run.summary["models"]}


@pytest.fixture(scope="module")
def full_runs(gateway, tmp_path_factory) -> dict[int, Run]:
    url, key, _ = gateway
    runs = {}
    for concurrency in (100, 1):
        folder = tmp_path_factory.mktemp(f"kinds-{concurrency}")
        runs[concurrency] = run_with_reports(
            url, key, folder, "--models=all", "--profile=full", "--fail-on=should",
            f"--concurrency={concurrency}", "-q",
        )  # fmt: skip
    return runs


def test_every_model_is_judged_on_its_own_kind_and_passes(full_runs):
    run = full_runs[100]
    assert run.exit_code == EXIT_OK, run.output[-3000:]
    judged = _judged(run)
    chat_files = {"test_chat.py", "test_stream.py"}
    for model, files in judged.items():
        names = {f.rsplit("/", 1)[-1] for f in files}
        if model not in CHATS:
            assert not names & chat_files, (model, names)
        if model not in IMAGES:
            assert "test_images.py" not in names, (model, names)
    assert {m for m, f in judged.items() if any("test_images" in x for x in f)} == IMAGES
    assert {m for m, f in judged.items() if any("test_chat" in x for x in f)} == CHATS


def test_the_verdicts_are_the_same_one_request_at_a_time(full_runs):
    serial, concurrent = full_runs[1], full_runs[100]
    assert serial.exit_code == concurrent.exit_code == EXIT_OK, serial.output[-3000:]
    assert serial.verdicts() == concurrent.verdicts()
    assert _per_model(serial) == _per_model(concurrent)


def test_a_model_is_never_sent_to_the_other_kind_when_its_price_settles_it(gateway):
    _, _, app = gateway
    assert ("chat", "acme/pixel-1") not in app.seen
    assert ("chat", "acme/m2") in app.seen  # its prices did not settle it: chat was asked


def test_kind_hints_beside_models_are_taken_as_said(gateway, tmp_path):
    url, key, app = gateway
    app.seen.clear()
    run = run_with_reports(
        url, key, tmp_path, "--models=acme/m*", "--image-model=acme/m2", "--chat-model=acme/m1",
        "--profile=smoke", "-q",
    )  # fmt: skip
    assert run.exit_code == EXIT_OK, run.output[-3000:]
    assert ("chat", "acme/m2") not in app.seen and ("images", "acme/m1") not in app.seen
    assert _per_model(run).keys() == {"acme/m1", "acme/m2"}
    assert _per_model(run)["acme/m2"][0] == "image"


def test_a_model_both_endpoints_refuse_fails_as_chat_and_says_how_to_name_it(tmp_path):
    key = generate_api_key()
    routes = {"acme/m1": {"chat": "openai/gpt-4o-mini"}, "acme/ghost": {}}
    pricing = {"acme/m1": TOKENS, "acme/ghost": TOKENS}
    with serving(Renamed(create_app(key), routes, pricing)) as url:
        run = run_with_reports(url, key, tmp_path, "--models=all", "--profile=smoke", "-q")
    # A broken route never drops out of the run: it fails where the default kind is judged.
    assert run.exit_code == EXIT_FAILED
    assert {m for ms in run.summary["gate"]["failed_models"].values() for m in ms} == {"acme/ghost"}
    assert not any("test_images" in f for f in _judged(run)["acme/ghost"])
    checks = run.summary["checks"]
    observed = " ".join(c["message"] for c in checks if c["check"].startswith("MODELS-08"))
    assert "acme/ghost: refused with a 4xx by /chat/completions" in observed
    assert "--image-model" in observed


def test_the_cheapest_choice_finds_an_image_model_its_name_does_not_tell(tmp_path):
    key = generate_api_key()
    routes = {m: GATEWAY[m][0] for m in ("acme/m1", "acme/m2")}
    pricing = {m: GATEWAY[m][1] for m in ("acme/m1", "acme/m2")}
    with serving(Renamed(create_app(key), routes, pricing)) as url:
        run = run_with_reports(url, key, tmp_path, "--profile=smoke", "-q")
    assert run.exit_code == EXIT_OK, run.output[-3000:]
    assert _per_model(run).keys() == {"acme/m1", "acme/m2"}
    assert _per_model(run)["acme/m2"][0] == "image"
