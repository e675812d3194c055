"""--models: one route of a gateway breaks a rule, and the report says which (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conformance.report.merge import load_shard, merge
from conformance.report.summary import ReportInputs
from tests.test_reports import Run, fault_url, run_with_reports

FAULT = "routes-one-ignores-stop"
BROKEN = "anthropic/claude-3-haiku"


@pytest.fixture(scope="module")
def all_models(zoo, tmp_path_factory) -> Run:
    origin, key = zoo
    reports = tmp_path_factory.mktemp("all-models")
    return run_with_reports(fault_url(origin, FAULT), key, reports, "--models=all")


def _models(run: Run) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in run.summary["models"]}


def test_the_broken_route_fails_chat21_and_no_other_model_does(all_models):
    assert all_models.exit_code == 1, all_models.output[-3000:]
    models = _models(all_models)
    assert len([m for m in models.values() if m["surface"] == "chat"]) >= 4
    assert models[BROKEN]["requirements"]["CHAT-21"] == "failed"
    for model, entry in models.items():
        if model != BROKEN:
            assert "CHAT-21" not in entry["failed"], model
            assert entry["verdict"] in ("passed", "info"), (model, entry["verdict"])
    assert all_models.summary["gate"]["failed"] == ["CHAT-21"]
    assert all_models.summary["gate"]["failed_models"] == {"CHAT-21": [BROKEN]}
    assert f"CHAT-21 failed for {BROKEN}" in " ".join(all_models.summary["gate"]["reasons"])
    assert f"(--models=all); failing: {BROKEN}" in all_models.output


def test_model_independent_checks_run_once(all_models):
    checks = [c for c in all_models.summary["checks"] if c["check"].startswith("AUTH-01/")]
    assert checks and all(c["model"] == "" for c in checks)
    assert len({c["nodeid"] for c in checks}) == len(checks)
    per_model = [
        c for c in all_models.summary["checks"] if c["check"] == "CHAT-01/minimal-request-answered"
    ]
    assert sorted(c["model"] for c in per_model) == sorted(
        m for m, e in _models(all_models).items() if e["surface"] == "chat"
    )


def test_the_html_matrix_shows_the_failing_cell(all_models):
    html = all_models.html
    matrix = (
        html[html.index("Requirements per model") :] if "Requirements per model" in html else html
    )
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*CHAT-21(?:(?!</tr>).)*</tr>", matrix, re.S)
    assert row is not None
    assert row.group(0).count("failed") >= 1
    assert BROKEN in html


def test_the_default_run_is_unchanged(zoo, tmp_path):
    origin, key = zoo
    run = run_with_reports(fault_url(origin, FAULT), key, tmp_path)
    assert run.exit_code == 0, run.output[-3000:]
    assert {m["id"] for m in run.summary["models"]} == {"openai/gpt-4o-mini", "openai/dall-e-2"}


def test_merging_two_shards_gives_the_verdicts_of_one_run(zoo, all_models, tmp_path):
    origin, key = zoo
    url = fault_url(origin, FAULT)
    shards = []
    for name, models in (("a", "anthropic/*"), ("b", "openai/*,mistral/*,meta/*")):
        run = run_with_reports(url, key, tmp_path / name, f"--models={models}")
        assert run.exit_code in (0, 1), run.output[-3000:]
        shards.append(load_shard(str(tmp_path / name / "summary.json")))
    gate, merged = merge(shards, str(tmp_path / "merged"), ReportInputs())
    assert gate.exit_code == all_models.exit_code
    assert _verdicts(merged) == _verdicts(all_models.summary)
    assert {m["id"]: m["requirements"] for m in merged["models"]} == {
        m["id"]: m["requirements"] for m in all_models.summary["models"]
    }


def _verdicts(summary: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["verdict"] for row in summary["requirements"]}


def test_latency_profile_covers_every_judged_model(all_models):
    latency = all_models.summary["latency"]
    for model, entry in _models(all_models).items():
        if entry["surface"] == "chat":
            assert latency[model]["count"] > 0
            assert latency[model]["first_token_s"] is not None


def test_unknown_model_pattern_is_a_usage_error(zoo, tmp_path):
    origin, key = zoo
    run = run_with_reports(fault_url(origin, FAULT), key, tmp_path, "--models=nobody/*")
    assert run.exit_code == 4
    assert "nobody/* matches no model" in run.output
    assert Path(tmp_path / "summary.json").exists()


def test_max_cost_leaves_models_unjudged_never_passed(zoo, tmp_path):
    origin, key = zoo
    url = fault_url(origin, "variant-routes")
    run = run_with_reports(url, key, tmp_path, "--models=all", "--max-cost=0.5")
    assert run.exit_code == 8, run.output[-3000:]
    models = _models(run)
    assert models and all(m["unjudged"] and m["verdict"] != "passed" for m in models.values())
    assert all("--max-cost of 0.5 is spent" in m["reason"] for m in models.values())
    spent = float(run.summary["run"]["estimated_cost"].split()[0])
    assert spent >= 0.5  # the cap was reached: requests stopped there, the rest in flight


def test_a_kind_hint_that_matches_no_model_is_a_usage_error(zoo, tmp_path):
    origin, key = zoo
    url = fault_url(origin, "variant-routes")
    run = run_with_reports(url, key, tmp_path, "--models=all", "--chat-model=openai/gpt-4x*")
    assert run.exit_code == 4
    assert "--chat-model: openai/gpt-4x* matches no model" in run.output


@pytest.mark.parametrize(("model", "exit_code"), [("anthropic/*", 0), ("openai/*", 1)])
def test_a_model_waiver_covers_that_model_only(zoo, tmp_path, model, exit_code):
    origin, key = zoo
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        f"- id: CHAT-21\n  model: '{model}'\n  reason: the provider adapter drops stop\n"
        "  expires: 2099-01-01\n",
        "utf-8",
    )
    url = fault_url(origin, FAULT)
    run = run_with_reports(url, key, tmp_path / "r", "--models=all", f"--waivers={waivers}")
    assert run.exit_code == exit_code, run.output[-3000:]
    row = next(r for r in run.summary["requirements"] if r["id"] == "CHAT-21")
    assert row["verdict"] == ("waived" if exit_code == 0 else "failed")
