"""Verdicts per model, their HTML matrix, and the latency profile (issue 15), from records."""

from __future__ import annotations

import json
import random
from html.parser import HTMLParser
from typing import Any

import pytest

from conformance.catalogue import requirements
from conformance.report import records as rec
from conformance.report.latency import LatencySample, latency_html, latency_profile, percentile
from conformance.report.matrix import build_matrix
from conformance.report.models import NO_CHECK, model_entries, models_html

A, B, C = "openai/gpt-4o-mini", "anthropic/claude-3-haiku", "mistral/mistral-small"
IMAGE = "openai/dall-e-3"
TEN_MODELS = [
    ("openai/gpt-4o-mini", "chat"), ("anthropic/claude-3-haiku", "chat"),
    ("mistral/mistral-small", "chat"), ("openai/gpt-4o", "chat"),
    ("anthropic/claude-3-5-sonnet", "chat"), ("mistral/mistral-large", "chat"),
    ("openai/gpt-3.5-turbo", "chat"), ("anthropic/claude-3-opus", "chat"),
    ("openai/dall-e-3", "image"), ("mistral/pixtral-image", "image"),
]  # fmt: skip


def record(req: str, model: str, verdict: str = "passed", param: str = "a") -> rec.TestRecord:
    check = f"{req}/some-check/{param}"
    return rec.TestRecord(
        nodeid=f"conformance/contract/test_x.py::test_some_check[{param}-{model}]",
        requirements=[req],
        level=requirements()[req].level,
        verdict=verdict,
        check=check,
        model=model,
        message="" if verdict == "passed" else f"{check} said no",
    )


def summary_of(
    records: list[rec.TestRecord],
    selected: list[tuple[str, str]],
    unjudged: dict[str, str] | None = None,
    samples: list[LatencySample] | None = None,
) -> dict[str, Any]:
    """The keys the renderers read, built by the functions summarize() uses."""
    summary = {
        "requirements": [row.as_dict() for row in build_matrix(records).rows],
        "checks": [r.as_dict() for r in records],
        "models": model_entries(records, selected, unjudged or {}),
        "latency": latency_profile(samples or []),
    }
    return json.loads(json.dumps(summary))  # what a summary.json read back holds


def ten_model_summary() -> dict[str, Any]:
    """Ten models of three providers: every chat/stream/image requirement checked per model,
    claude-3-haiku failing CHAT-21, claude-3-opus left unjudged by the budget."""
    rng = random.Random(15)
    unjudged = {"anthropic/claude-3-opus": "the request budget was spent before this model"}
    records, samples = [record("AUTH-01", "")], []
    for model, surface in TEN_MODELS:
        if model in unjudged:
            continue
        areas = ("images",) if surface == "image" else ("chat", "streaming")
        for req in (r.id for r in requirements().values() if r.area in areas):
            bad = model == B and req == "CHAT-21"
            records += [record(req, model, "failed" if bad else "passed", p) for p in "ab"]
        chat = surface == "chat"
        for _ in range(20):
            total = rng.uniform(0.3, 4.0)
            first = rng.uniform(0.1, total / 2)
            samples.append(
                LatencySample(
                    model=model, kind="stream" if chat else "image", headers_s=first / 2,
                    first_token_s=first if chat else None, total_s=total,
                    gaps_s=[rng.uniform(0.005, 0.2) for _ in range(8 * chat)],
                    completion_tokens=rng.randint(5, 80) if chat else None,
                )
            )  # fmt: skip
    return summary_of(records, TEN_MODELS, unjudged, samples)


class Grid(HTMLParser):
    """The matrix as data: (requirement, model) -> the cell's text and title."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.models: list[str] = []
        self.providers: list[tuple[str, int]] = []
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self._req, self._col, self._title, self._text, self._in = "", -1, "", "", ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "th" and "data-model" in a:
            self.models.append(a["data-model"] or "")
        elif tag == "th" and "provider" in (a.get("class") or ""):
            self._in, self._text = "provider", ""
            self.providers.append(("", int(a.get("colspan") or 1)))
        elif tag == "tr":
            self._req, self._col = a.get("data-req") or "", -1
        elif tag == "td" and self._req:
            self._col, self._in, self._text, self._title = self._col + 1, "td", "", ""
        elif self._in == "td" and "title" in a:
            self._title = a["title"] or ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._in == "provider":
            self.providers[-1] = (self._text, self.providers[-1][1])
            self._in = ""
        elif tag == "td" and self._in == "td":
            if self._col > 0:
                key = (self._req, self.models[self._col - 1])
                self.cells[key] = (self._text.strip(), self._title)
            self._in = ""


# --- per-model verdicts ---------------------------------------------------------------


def three_chat_models(b_verdict: str = "failed") -> list[rec.TestRecord]:
    records = [record("AUTH-01", ""), record("MODELS-01", "")]
    for model in (A, B, C):
        records += [record("CHAT-08", model), record("CHAT-21", model, param="string")]
        records.append(record("CHAT-21", model, b_verdict if model == B else "passed", "array"))
    return records


def test_failure_is_attributed_to_its_model_only():
    summary = summary_of(three_chat_models(), [(A, "chat"), (B, "chat"), (C, "chat")])
    entries = {m["id"]: m for m in summary["models"]}
    assert list(entries) == [A, B, C], "model-independent records name no model"
    assert entries[B]["verdict"] == "failed"
    assert entries[B]["failed"] == ["CHAT-21"]
    assert entries[B]["requirements"] == {"CHAT-08": "passed", "CHAT-21": "failed"}
    assert entries[B]["checks"]["failed"] == 1 and entries[B]["checks"]["passed"] == 2
    for model in (A, C):
        assert entries[model]["verdict"] == "passed"
        assert entries[model]["failed"] == []
        assert entries[model]["unjudged"] is False
    assert entries[B]["provider"] == "anthropic" and entries[B]["surface"] == "chat"

    grid = Grid(models_html(summary))
    assert set(grid.cells) == {(r, m) for r in ("CHAT-08", "CHAT-21") for m in (A, B, C)}
    bad = {key: cell for key, cell in grid.cells.items() if cell[0] != "passed"}
    assert list(bad) == [("CHAT-21", B)]
    assert bad["CHAT-21", B][0] == "failed"
    assert "CHAT-21/some-check/array" in bad["CHAT-21", B][1], "the failing check in the title"
    assert "CHAT-21/some-check/string" not in bad["CHAT-21", B][1], "a passing one is not"


def test_a_warning_is_listed_and_shown_as_such():
    summary = summary_of(three_chat_models("warned"), [(A, "chat"), (B, "chat"), (C, "chat")])
    entry = next(m for m in summary["models"] if m["id"] == B)
    assert (entry["verdict"], entry["failed"]) == ("warned", ["CHAT-21"])
    assert Grid(models_html(summary)).cells["CHAT-21", B][0] == "warned"


def test_cells_link_to_the_requirement_row():
    html = models_html(summary_of(three_chat_models(), [(A, "chat"), (B, "chat")]))
    assert html.count('href="#req-CHAT-21"') == 1 + 3  # the row's label and one per model
    assert '<a class="v failed" href="#req-CHAT-21"' in html


def test_a_model_the_budget_left_unjudged_is_never_shown_passing():
    records = three_chat_models()
    summary = summary_of(
        records, [(A, "chat"), (B, "chat"), (C, "chat"), ("x/late", "chat")],
        {"x/late": "the request budget was spent before it", C: "--max-cost reached"},
    )  # fmt: skip
    entries = {m["id"]: m for m in summary["models"]}
    late = entries["x/late"]
    assert (late["unjudged"], late["verdict"]) == (True, "error")
    assert late["reason"] == "the request budget was spent before it"
    assert late["requirements"] == {} and sum(late["checks"].values()) == 0
    # C's checks that ran passed, but the run stopped inside it: not judged, not passed.
    assert (entries[C]["unjudged"], entries[C]["verdict"]) == (True, "error")

    grid = Grid(models_html(summary))
    assert grid.cells["CHAT-21", "x/late"][0] == "not judged"
    assert "budget was spent" in grid.cells["CHAT-21", "x/late"][1]
    html = models_html(summary)
    header = html.split('data-model="x/late"')[1].split("</th>")[0]
    assert "not judged" in header and "passed" not in header


def test_an_unjudged_model_keeps_a_failure_it_showed():
    summary = summary_of(
        three_chat_models(), [(A, "chat"), (B, "chat")], {B: "the request budget was spent"}
    )
    entry = next(m for m in summary["models"] if m["id"] == B)
    assert (entry["unjudged"], entry["verdict"], entry["failed"]) == (True, "failed", ["CHAT-21"])


def test_a_model_no_check_judged_says_why():
    skipped = record("IMG-01", IMAGE, "skipped")
    skipped.message = "checked in --profile=full (this run: --profile=smoke)"
    summary = summary_of([skipped], [(A, "chat"), (IMAGE, "image")])
    entries = {m["id"]: m for m in summary["models"]}
    assert (entries[A]["unjudged"], entries[A]["reason"]) == (True, NO_CHECK)
    assert entries[A]["verdict"] == "skipped"
    assert entries[IMAGE]["unjudged"] is True
    assert entries[IMAGE]["reason"].startswith("checked in --profile=full")


def test_a_model_only_records_name_is_listed_with_its_surface():
    summary = summary_of([record("IMG-02", IMAGE, "failed")], [])
    assert [(m["id"], m["surface"], m["verdict"]) for m in summary["models"]] == [
        (IMAGE, "image", "failed")
    ]


def test_an_info_requirement_is_info_per_model():
    records = [record("SSE-11", A, "info"), record("SSE-11", B, "passed")]
    summary = summary_of(records, [(A, "chat"), (B, "chat")])
    assert [m["requirements"] for m in summary["models"]] == [{"SSE-11": "info"}] * 2
    assert [m["verdict"] for m in summary["models"]] == ["info", "passed"]


def test_no_matrix_for_one_model_of_each_surface():
    records = [record("CHAT-21", A), record("IMG-01", IMAGE)]
    assert models_html(summary_of(records, [(A, "chat"), (IMAGE, "image")])) == ""
    assert models_html(summary_of([], [])) == ""
    old = summary_of(records, [])
    del old["models"]  # a schema-1 summary.json written before issue 15
    assert models_html(old) == ""


def test_columns_are_grouped_by_provider():
    records = [record("CHAT-21", m) for m, surface in TEN_MODELS if surface == "chat"]
    grid = Grid(models_html(summary_of(records, TEN_MODELS)))
    assert grid.providers == [("openai", 4), ("anthropic", 3), ("mistral", 3)]
    providers = [m.split("/")[0] for m in grid.models]
    assert providers == ["openai"] * 4 + ["anthropic"] * 3 + ["mistral"] * 3
    # An image model has no cell on a chat row: a dash, not a verdict.
    assert grid.cells["CHAT-21", "openai/dall-e-3"][0] == "\u2013"


def test_model_ids_are_escaped():
    evil = 'x/<script>alert("m")</script>'
    html = models_html(summary_of([record("CHAT-21", evil), record("CHAT-21", A)], []))
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- latency --------------------------------------------------------------------------


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(10, 0, -1)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 100)) == (5, 9, 10)
    assert (percentile([2.0, 1.0], 50), percentile([2.0, 1.0], 90)) == (1.0, 2.0)
    assert percentile([7.0], 90) == 7.0
    assert percentile([float(v) for v in range(1, 13)], 90) == 11.0  # rank ceil(10.8)


def known_samples() -> list[LatencySample]:
    chat = [
        LatencySample(
            model=A, kind="chat", headers_s=t / 10, total_s=t / 10, completion_tokens=t * 10
        )
        for t in range(1, 11)
    ]  # totals 0.1 .. 1.0 s, 100 tokens/s each
    stream = LatencySample(
        model=A, kind="stream", headers_s=0.05, first_token_s=0.5, gaps_s=[0.1, 0.3],
        total_s=1.5, completion_tokens=20,
    )  # fmt: skip
    unknown = LatencySample(model=A, kind="stream", first_token_s=0.2, gaps_s=[0.2], total_s=0.9)
    image = LatencySample(model=IMAGE, kind="image", headers_s=3.0, total_s=3.0)
    gateway = LatencySample(model="", kind="chat", total_s=9.0)
    return [*chat, stream, unknown, image, gateway]


def test_latency_profile_of_known_samples():
    profile = latency_profile(known_samples())
    assert list(profile) == [IMAGE, A], "per model, in id order; no model-independent request"
    a = profile[A]
    assert a["count"] == 12 and a["kinds"] == {"chat": 10, "stream": 2}
    assert a["first_byte_s"] == {"n": 11, "p50": 0.5, "p90": 0.9, "max": 1.0}
    assert a["first_token_s"] == {"n": 2, "p50": 0.2, "p90": 0.5, "max": 0.5}
    assert a["gap_s"] == {"n": 3, "p50": 0.2, "p90": 0.3, "max": 0.3}
    assert a["total_s"] == {"n": 12, "p50": 0.6, "p90": 1.0, "max": 1.5}
    # Ten chat requests at 100 tokens/s and one stream at 20 / (1.5 - 0.5) = 20 tokens/s;
    # the stream without a token count is left out.
    assert a["tokens_per_s"] == {"n": 11, "p50": 100.0, "p90": 100.0, "max": 100.0}
    image = profile[IMAGE]
    assert image["first_token_s"] is None and image["gap_s"] is None
    assert image["tokens_per_s"] is None
    assert image["total_s"] == {"n": 1, "p50": 3.0, "p90": 3.0, "max": 3.0}


def test_stream_rate_counts_from_the_first_token():
    profile = latency_profile(known_samples()[10:11])
    assert profile[A]["tokens_per_s"] == {"n": 1, "p50": 20.0, "p90": 20.0, "max": 20.0}


@pytest.mark.parametrize("samples", [[], [LatencySample(model="", kind="chat", total_s=1.0)]])
def test_no_latency_section_without_samples(samples):
    assert latency_html({"latency": latency_profile(samples)}) == ""
    assert latency_html({}) == ""


def test_latency_html_has_a_table_and_a_chart_scaled_to_the_slowest():
    html = latency_html({"latency": json.loads(json.dumps(latency_profile(known_samples())))})
    assert (
        html.count("<svg") == 1
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert html.count("<tr><td>") == 2
    assert ">openai/dall-e-3</text>" in html and ">openai/gpt-4o-mini</text>" in html
    # The image model's p90 total (3.0 s) is the longest bar: the whole width.
    assert 'class="total p90" x="230" y="' in html and 'width="460.0"' in html
    # A's p90 total, 1.0 s, is a third of it.
    assert 'width="153.3"' in html
    assert "500 / 1000 / 1500" not in html  # A's totals: p50 600, p90 1000, max 1500 ms
    assert "600 / 1000 / 1500" in html
