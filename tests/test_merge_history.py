"""Merged shards, history strips and flakiness, the trend page, model-aware waivers and
--compare per model (issue 15), from summaries built by summarize() out of records."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.catalogue import requirements
from conformance.cli import main
from conformance.report import records as rec
from conformance.report.diff import diff_summaries
from conformance.report.history import history_section, load_runs, save_run, strip_html
from conformance.report.matrix import build_matrix
from conformance.report.merge import MergeError, Shard, load_shard, merge, records_of
from conformance.report.summary import ReportInputs, summarize
from conformance.report.trend import trend_html, trend_points
from conformance.report.waivers import Waiver, WaiverFileError, apply_waivers, parse_waivers

HAIKU, MINI = "anthropic/claude-3-haiku", "openai/gpt-4o-mini"
DEPENDENT = ("chat", "streaming", "images")  # areas whose checks run once per model
TARGET = "https://api.example/v1"


def records(
    models: list[str], failing: set[tuple[str, str]] = frozenset(), error: str = ""
) -> list[rec.TestRecord]:
    """One check per requirement, per model for the model-dependent ones; `failing` holds
    (requirement, model) pairs ("" for a model-independent check), `error` one requirement
    whose model-independent check could not run."""
    out = []
    for req in requirements().values():
        for model in models if req.area in DEPENDENT else [""]:
            verdict = "info" if req.level == "INFO" else "passed"
            if (req.id, model) in failing:
                verdict = "failed" if req.level == "MUST" else "warned"
            if req.id == error:
                verdict = "error"
            param = f"[{model}]" if model else ""
            out.append(
                rec.TestRecord(
                    nodeid=f"conformance/contract/test_{req.area}.py::test_{req.id.lower()}{param}",
                    requirements=[req.id],
                    level=req.level,
                    verdict=verdict,
                    check=f"{req.id}/{req.id.lower()}",
                    model=model,
                    message="" if verdict in ("passed", "info") else f"{req.id} broken for {model}",
                    transcript="> POST /v1/chat/completions" if verdict == "failed" else "",
                )
            )
    return out


def run_facts(started: str, models: str, **extra: Any) -> dict[str, Any]:
    return {
        "target": TARGET, "embedded": False, "suite_version": __version__, "profile": "full",
        "fail_on": "must", "seed": 7, "chat_model": None, "image_model": None,
        "model_choice": [], "started": started, "duration_s": 10.0, "workers": 1,
        "max_requests": 1200, "estimated_cost": "0.500000 (price-list units)",
        "spend": {"requests": 100, "prompt_tokens": 50, "completion_tokens": 40, "images": 2},
        "report_dir": "reports", "models": models, **extra,
    }  # fmt: skip


def summary(
    recs: list[rec.TestRecord],
    started: str = "2026-11-27T03:00:00+00:00",
    models: str = "all",
    waivers: list[Waiver] | None = None,
    stopped: tuple[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    inputs = ReportInputs(waivers=waivers or [])
    _, data = summarize(recs, run_facts(started, models, **extra), inputs, stopped)
    return json.loads(json.dumps(data))  # as a summary.json read back


def verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["verdict"] for row in data["requirements"]}


def shard(data: dict[str, Any], label: str) -> Shard:
    return Shard(f"{label}/summary.json", label, data)


# --- merge -----------------------------------------------------------------------------------


def test_merging_two_model_shards_equals_one_run_over_both():
    broken = {("CHAT-21", MINI), ("SSE-14", HAIKU)}  # a MUST for one model, a SHOULD for the other
    one = summary(records([HAIKU, MINI], broken))
    a = summary(records([HAIKU], broken), "2026-11-27T03:00:00+00:00", HAIKU)
    b = summary(records([MINI], broken), "2026-11-27T03:01:00+00:00", MINI)
    gate, merged = merge([shard(a, "haiku"), shard(b, "mini")], "merged")
    assert verdicts(merged) == verdicts(one)
    assert verdicts(merged)["CHAT-21"] == "failed" and verdicts(merged)["SSE-14"] == "warned"
    assert merged["totals"] == one["totals"]
    for key in ("verdict", "exit_code", "failed", "not_judged", "reasons"):
        assert merged["gate"][key] == one["gate"][key], key
    assert gate.exit_code == 1
    # Model-independent checks ran in both shards and count once.
    key = [(c["nodeid"], c["model"], c["verdict"]) for c in merged["checks"]]
    assert sorted(key) == sorted((c["nodeid"], c["model"], c["verdict"]) for c in one["checks"])
    run = merged["run"]
    assert run["spend"] == {"requests": 200, "prompt_tokens": 100, "completion_tokens": 80,
                            "images": 4}  # fmt: skip
    assert run["duration_s"] == 20.0 and run["max_requests"] == 2400
    assert run["started"] == "2026-11-27T03:00:00+00:00"
    assert run["models"] == f"{HAIKU},{MINI}"
    assert run["estimated_cost"].startswith("1.000000 ")
    assert [s["label"] for s in run["shards"]] == ["haiku", "mini"]
    assert [s["overall"] for s in run["shards"]] == ["passed", "failed"]


def test_merge_keeps_differing_records_and_the_worst_wins():
    # Two regions: the same check on two targets, one of them failing it.
    eu = summary(records([HAIKU]), target="https://eu.example/v1")
    us = summary(records([HAIKU], {("CHAT-21", HAIKU)}), target="https://us.example/v1")
    _, merged = merge([shard(eu, "eu"), shard(us, "us")], "merged")
    chat21 = [c for c in merged["checks"] if c["requirements"] == ["CHAT-21"]]
    assert sorted(c["verdict"] for c in chat21) == ["failed", "passed"]
    assert verdicts(merged)["CHAT-21"] == "failed"
    assert merged["run"]["target"] == "https://eu.example/v1, https://us.example/v1"


def test_an_error_beside_a_verdict_of_the_same_check_on_the_same_target_is_dropped():
    a = summary(records([HAIKU], error="AUTH-01"))
    b = summary(records([MINI]), "2026-11-27T03:01:00+00:00")
    assert verdicts(a)["AUTH-01"] == "error"
    gate, merged = merge([shard(a, "a"), shard(b, "b")], "merged")
    assert verdicts(merged)["AUTH-01"] == "passed" and gate.verdict == "passed"
    # On another target the error stands: that region was not judged.
    c = summary(records([MINI]), "2026-11-27T03:01:00+00:00", target="https://us.example/v1")
    gate, merged = merge([shard(a, "a"), shard(c, "c")], "merged")
    assert verdicts(merged)["AUTH-01"] == "error" and gate.verdict == "not-judged"
    assert len(records_of([shard(a, "a"), shard(a, "a2")])) == len(a["checks"])


def test_a_shard_that_could_not_judge_holds_the_merged_gate_unless_another_failed():
    down = summary([], stopped=("could-not-judge", "connection refused"), target="https://x/v1")
    fine = summary(records([HAIKU]), "2026-11-27T03:01:00+00:00")
    gate, merged = merge([shard(down, "x"), shard(fine, "ok")], "merged")
    assert gate.exit_code == 7
    assert merged["gate"]["reasons"] == ["shard x: connection refused"]
    broken = summary(records([HAIKU], {("CHAT-21", HAIKU)}), "2026-11-27T03:01:00+00:00")
    gate, merged = merge([shard(down, "x"), shard(broken, "ok")], "merged")
    assert gate.exit_code == 1
    assert merged["gate"]["reasons"][-1] == "shard x: connection refused"


def test_merge_applies_the_shards_waivers_again_to_the_merged_matrix():
    waiver = Waiver("CHAT-21", "upstream ignores stop", date(2099, 1, 1), None, MINI)
    broken = {("CHAT-21", MINI)}
    a = summary(records([HAIKU], broken), models=HAIKU, waivers=[waiver])
    b = summary(records([MINI], broken), "2026-11-27T03:01:00+00:00", MINI, waivers=[waiver])
    assert [w["status"] for w in a["waivers"]] == ["unused"]  # no MINI check in that shard
    gate, merged = merge([shard(a, "a"), shard(b, "b")], "merged")
    assert gate.verdict == "passed" and verdicts(merged)["CHAT-21"] == "waived"
    assert [w["status"] for w in merged["waivers"]] == ["applied"]
    gate, _ = merge([shard(a, "a"), shard(b, "b")], "m", ReportInputs(waivers_path="none.yaml"))
    assert gate.verdict == "failed"  # an explicit (here empty) waiver file replaces them


def _write(path: Path, data: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return str(path)


def test_merge_command_writes_the_three_reports_and_exits_with_the_gate(tmp_path, capsys):
    broken = {("CHAT-21", MINI)}
    a = _write(tmp_path / "haiku" / "summary.json", summary(records([HAIKU], broken)))
    b = summary(records([MINI], broken), "2026-11-27T03:01:00+00:00")
    b_path = _write(tmp_path / "x" / "summary.json", b)
    out = tmp_path / "merged"
    assert main(["merge", f"--out={out}", a, f"mini={b_path}"]) == 1
    data = json.loads((out / "summary.json").read_text())
    assert [s["label"] for s in data["run"]["shards"]] == ["haiku", "mini"]
    assert '<tr id="req-CHAT-21" class="r-failed">' in (out / "conformance.html").read_text()
    assert '<property name="exit_code" value="1"' in (out / "junit.xml").read_text()
    assert "overall: FAILED (exit 1)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ({"hello": 1}, "not an apex-conformance summary.json"),
        ("schema2", "summary schema_version 2; apex-conformance"),
        ("version", "the inputs come from different suite versions (0.0.1, "),
        ("fail_on", "different --fail-on (should, must)"),
        ("twice", "is given twice"),
    ],
)
def test_merge_refuses_what_it_cannot_merge_in_one_line(tmp_path, capsys, content, message):
    good = summary(records([HAIKU]))
    other = summary(records([MINI]), "2026-11-27T03:01:00+00:00")
    path = tmp_path / "bad" / "summary.json"
    if content == "schema2":
        content = {**good, "schema_version": 2}
    elif content == "version":
        content = {**good, "run": {**good["run"], "suite_version": "0.0.1"}}
    elif content == "fail_on":
        content = {**good, "run": {**good["run"], "fail_on": "should"}}
    elif content == "twice":
        content = other
    if content is not None:
        _write(path, content)
    second = _write(tmp_path / "other" / "summary.json", other)
    assert main(["merge", f"--out={tmp_path / 'out'}", str(path), second]) == 4
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(MergeError, match="no such file"):
        load_shard(str(tmp_path / "none.json"))


# --- history -------------------------------------------------------------------------------


def _nightly(n: int, chat21: str, sse13: str = "passed", version: str = __version__) -> dict:
    """Night n: CHAT-21 "p"/"f" for MINI (HAIKU always fails it), SSE-14 as given."""
    broken = {("CHAT-21", HAIKU)}
    if chat21 == "f":
        broken.add(("CHAT-21", MINI))
    if sse13 == "f":
        broken.add(("SSE-14", MINI))
    started = f"2026-11-{n + 1:02d}T03:17:00+00:00"
    return summary(records([HAIKU, MINI], broken), started, suite_version=version)


def test_history_strip_marks_a_flip_flop_flaky_and_a_regression_not():
    nights = [_nightly(n, "pf"[n % 2], "pppff"[n]) for n in range(5)]
    # HTTP-03 passes, fails, passes: flaky. SSE-14 passes three nights then fails: a regression.
    for n in (1, 3):
        row = next(r for r in nights[n]["requirements"] if r["id"] == "HTTP-03")
        row["verdict"] = "failed"
    history = history_section(nights[-1], nights[:-1])
    assert history["runs"] == 5
    assert history["strips"]["SSE-14"] == ["passed"] * 3 + ["warned"] * 2
    assert history["strips"]["HTTP-03"] == ["passed", "failed", "passed", "failed", "passed"]
    assert "HTTP-03" in history["flaky"]
    assert "SSE-14" not in history["flaky"] and "HTTP-01" not in history["flaky"]
    # CHAT-21 fails every night (HAIKU): not flaky as a requirement, but flaky for MINI.
    assert "CHAT-21" not in history["flaky"]
    assert history["flaky_models"] == {"CHAT-21": [MINI]}
    cell = strip_html(history, "HTTP-03")
    assert cell.count("<i ") == 5 and cell.count("class=failed ") == 2
    assert 'title="2026-11-02 03:17 failed"' in cell
    assert ">flaky</span>" in cell and ">flaky</span>" not in strip_html(history, "SSE-14")


def test_flips_across_suite_versions_or_targets_are_not_flaky():
    nights = [_nightly(n, "pf"[n % 2], version=("0.0.9", __version__)[n >= 3]) for n in range(5)]
    history = history_section(nights[-1], nights[:-1])
    assert history["strips"]["CHAT-21"] == ["failed"] * 5
    assert history["flaky_models"] == {}  # only nights 3 and 4 share this version: one change
    elsewhere = summary(records([HAIKU, MINI]), "2026-12-09T03:00:00+00:00", target="https://b/v1")
    history = history_section(elsewhere, nights)
    assert history["runs"] == 1 and history["flaky"] == []


def test_history_folder_keeps_the_last_runs_without_evidence(tmp_path):
    nights = [_nightly(n, "f") for n in range(4)]
    for night in nights:
        save_run(tmp_path, night, keep=3)
    second = save_run(tmp_path, nights[-1], keep=3)  # the same second: a new name
    assert second.name == "run-20261104T031700Z-2.json"
    (tmp_path / "run-20250101T000000Z.json").write_text("{broken")
    runs, skipped = load_runs(tmp_path, limit=10)
    assert skipped == ["run-20250101T000000Z.json"]
    assert [r["run"]["started"][:10] for r in runs] == ["2026-11-03", "2026-11-04", "2026-11-04"]
    assert all(not c.get("transcript") for r in runs for c in r["checks"])
    assert any(c["verdict"] == "failed" for c in runs[0]["checks"])
    assert load_runs(tmp_path / "missing") == ([], [])


# --- trend -----------------------------------------------------------------------------------


def history_runs(n: int = 30) -> list[dict[str, Any]]:
    """n nights, oldest first: CHAT-21 flips for MINI, SHOULD requirements pass or fail."""
    start = date(2026, 10, 1)
    out = []
    for night in range(n):
        broken = {("CHAT-21", MINI)} if night % 3 == 0 else set()
        if night % 5 == 0:
            broken.add(("SSE-14", HAIKU))
        day = (start + timedelta(days=night)).isoformat()
        out.append(summary(records([HAIKU, MINI], broken), f"{day}T03:17:00+00:00"))
    return out


def test_trend_page_has_a_chart_per_level_a_row_per_run_and_the_flaky_list():
    runs = history_runs(30)
    points = trend_points(runs)
    assert [p["totals"]["MUST"]["failed"] for p in points[:4]] == [1, 0, 0, 1]
    page = trend_html(runs, "history/")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    charts = re.findall(r'<svg class="trend".*?</svg>', page, re.S)
    assert len(charts) == 3
    must = charts[0]
    assert must.count('<rect class="passed"') == 30 and must.count('<rect class="failed"') == 10
    assert "<title>2026-10-01T03:17:00+00:00: 1 failed</title>" in must
    rows = re.findall(r"<tr><td>(2026-\d\d-\d\dT[^<]*)</td>", page)
    assert len(rows) == 30 and rows[0].startswith("2026-10-30")  # newest first
    flaky = page[page.index('id="trend-flaky"') : page.index('id="trend-runs"')]
    assert "<b>CHAT-21</b>" in flaky and "<b>SSE-14</b>" in flaky and "HTTP-01" not in flaky


def test_trend_command(tmp_path, capsys):
    for run in history_runs(3):
        save_run(tmp_path / "h", run)
    assert main(["trend", str(tmp_path / "h"), f"--out={tmp_path / 't.html'}"]) == 0
    assert "<svg" in (tmp_path / "t.html").read_text()
    assert main(["trend", str(tmp_path / "empty")]) == 4
    assert "no run summaries in" in capsys.readouterr().err


# --- model-aware waivers and --compare ----------------------------------------------------


def _chat21_row(matrix):
    return next(row for row in matrix.rows if row.id == "CHAT-21")


def test_a_model_waiver_covers_only_its_models_checks():
    waiver = Waiver("CHAT-21", "anthropic ignores stop", date(2099, 1, 1), None, "anthropic/*")
    matrix = build_matrix(records([HAIKU, MINI], {("CHAT-21", HAIKU)}))
    (result,) = apply_waivers(matrix, [waiver], date(2026, 1, 1))
    assert result.status == "applied" and _chat21_row(matrix).verdict == "waived"
    assert result.message.startswith("CHAT-21 (model anthropic/*): 1 check(s) failed")

    matrix = build_matrix(records([HAIKU, MINI], {("CHAT-21", HAIKU), ("CHAT-21", MINI)}))
    (result,) = apply_waivers(matrix, [waiver], date(2026, 1, 1))
    assert result.status == "applied" and _chat21_row(matrix).verdict == "failed"
    assert result.message.endswith("CHAT-21 still failed by other checks")

    matrix = build_matrix(records([HAIKU, MINI], {("CHAT-21", MINI)}))
    (result,) = apply_waivers(matrix, [waiver], date(2026, 1, 1))
    assert (result.status, result.fails_gate) == ("stale", True)
    assert _chat21_row(matrix).verdict == "failed"

    matrix = build_matrix(records([MINI], {("AUTH-01", "")}))
    results = apply_waivers(
        matrix,
        [waiver, Waiver("AUTH-01", "r", date(2099, 1, 1), None, "openai/*")],
        date(2026, 1, 1),
    )
    assert [r.status for r in results] == ["unused", "unused"]  # no such model; no model at all
    assert next(r for r in matrix.rows if r.id == "AUTH-01").verdict == "failed"
    check = Waiver("CHAT-21/chat-21", "r", date(2099, 1, 1), None, HAIKU)
    matrix = build_matrix(records([HAIKU, MINI], {("CHAT-21", HAIKU)}))
    assert apply_waivers(matrix, [check], date(2026, 1, 1))[0].status == "applied"
    assert _chat21_row(matrix).verdict == "waived"


def test_waiver_file_names_a_model():
    text = (
        "- id: CHAT-21\n  reason: r\n  expires: 2099-01-01\n  model: anthropic/*\n"
        "- id: CHAT-21\n  reason: r\n  expires: 2099-01-01\n  model: openai/gpt-4o-mini\n"
    )
    first, second = parse_waivers(text)
    assert (first.model, second.model) == ("anthropic/*", MINI)
    assert first.as_dict()["model"] == "anthropic/*"
    assert Waiver.from_dict(first.as_dict()) == first
    with pytest.raises(WaiverFileError, match=r"CHAT-21 \(model anthropic/\*\) is waived twice"):
        parse_waivers(text.replace("openai/gpt-4o-mini", "anthropic/*"))
    with pytest.raises(WaiverFileError, match="is not a model id or glob"):
        parse_waivers("- id: CHAT-21\n  reason: r\n  expires: 2099-01-01\n  model: [a]\n")


def test_compare_names_the_model_a_requirement_newly_fails_for():
    before = summary(records([HAIKU, MINI], {("CHAT-21", HAIKU)}))
    now = summary(records([HAIKU, MINI, "mistral/small"], {("CHAT-21", HAIKU), ("CHAT-21", MINI)}))
    diff = diff_summaries(before, now["requirements"], "prev.json", now["checks"])
    assert diff["newly_failing"] == [] and diff["changed"] == []  # CHAT-21 failed before too
    by_model = diff["by_model"]
    assert by_model["newly_failing"] == [
        {"id": "CHAT-21", "model": MINI, "before": "passed", "after": "failed"}
    ]
    assert by_model["newly_passing"] == [] and by_model["added"] == ["mistral/small"]
    back = diff_summaries(now, before["requirements"], "now.json", before["checks"])["by_model"]
    assert [(c["id"], c["model"]) for c in back["newly_passing"]] == [("CHAT-21", MINI)]
    assert back["removed"] == ["mistral/small"]
    assert diff_summaries(before, now["requirements"])["by_model"] is None


def test_sharded_workflow_merges_the_shards_and_fails_on_the_merged_gate():
    import yaml

    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load((root / "examples" / "sharded.yml").read_text("utf-8"))
    shard, merged = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    assert shard["strategy"]["fail-fast"] is False
    assert "fromJSON(vars.APEX_SHARDS" in shard["strategy"]["matrix"]["shard"]
    suite = next(step for step in shard["steps"] if step.get("id") == "suite")
    assert suite["env"]["APEX_API_KEY"] == "${{ secrets.APEX_API_KEY }}"
    assert suite["env"]["APEX_MODELS"] == "${{ matrix.shard.models || 'cheapest' }}"
    assert "matrix.shard.base_url" in suite["env"]["APEX_BASE_URL"]
    upload = next(s for s in shard["steps"] if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["if"] == "always()" and "reports/summary.json" in upload["with"]["path"]
    assert upload["with"]["name"] == "apex-shard-${{ matrix.shard.label }}"
    assert merged["needs"] == "shard" and merged["if"] == "always()"
    download = next(s for s in merged["steps"] if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["pattern"] == "apex-shard-*"
    step = next(s for s in merged["steps"] if s.get("id") == "merge")
    assert "apex-conformance merge --out=reports --history=history" in step["run"]
    assert step["run"].rstrip().endswith('exit "$code"')


def test_a_shard_whose_globs_select_no_model_says_so_and_does_not_fail_the_merge():
    def empty(models: str) -> dict[str, Any]:
        message = f"--models={models}: {models} matches no model in the target's /models list"
        return summary([], models=models, stopped=("usage-error", message))

    fine = summary(records([MINI]), "2026-11-27T03:01:00+00:00", models="openai/*")
    gate, merged = merge([shard(fine, "openai"), shard(empty("anthropic/*"), "anthropic")], "m")
    assert gate.exit_code == 0
    assert merged["gate"]["reasons"] == [
        "shard anthropic selected no model (--models=anthropic/*): it judged nothing"
    ]
    # A model id that matches nothing is a typo, not an empty shard.
    typo = empty("anthropic/claude-3-haiku-typo")
    gate, _ = merge([shard(fine, "openai"), shard(typo, "anthropic")], "m")
    assert gate.exit_code == 4
    # Every shard empty: nothing was judged, and that is the merge's usage error.
    gate, _ = merge([shard(empty("anthropic/*"), "anthropic")], "m")
    assert gate.exit_code == 4
