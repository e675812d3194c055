"""The latency profile (INFO, never a verdict): per model, from requests the run already made.

summary.json's `latency` comes from `latency_profile`; the HTML's table and chart from
`latency_html`, which reads summary.json alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from conformance.transport.redact import redact_text

Kind = Literal["chat", "stream", "image"]
# summary.json's names of the profile's measures, and the table's headings for them.
MEASURES = {
    "first_byte_s": "first byte (ms)",
    "first_token_s": "first token (ms)",
    "gap_s": "inter-chunk gap (ms)",
    "total_s": "total (ms)",
    "tokens_per_s": "tokens/s",
}
_KEYS = ("p50", "p90", "max")


@dataclass(frozen=True, kw_only=True)
class LatencySample:
    """The timing of one request the run made for a model-dependent check."""

    model: str
    kind: Kind
    total_s: float
    headers_s: float | None = None  # time to the response headers
    first_token_s: float | None = None  # streams: the first event carrying content
    gaps_s: Sequence[float] = ()  # streams: the gaps between chunks
    completion_tokens: int | None = None


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest sample with at least p% of the samples at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def stats(values: Sequence[float], digits: int = 3) -> dict[str, Any] | None:
    """Count, p50, p90 and max, or None without a sample (a measure the model never had)."""
    if not values:
        return None
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "max": round(max(values), digits),
    }


def tokens_per_second(sample: LatencySample) -> float | None:
    """Completion tokens over generation time: after the first token for a stream, the
    whole request otherwise; None when the count or the time is unknown."""
    if sample.completion_tokens is None or sample.kind == "image":
        return None
    start = sample.first_token_s if sample.kind == "stream" else 0.0
    if start is None or sample.total_s - start <= 0:
        return None
    return sample.completion_tokens / (sample.total_s - start)


def latency_profile(samples: Iterable[LatencySample]) -> dict[str, dict[str, Any]]:
    """summary.json's `latency`: one profile per model, models in id order."""
    by_model: dict[str, list[LatencySample]] = {}
    for sample in samples:
        # A request of a model-independent check times the gateway, not a model.
        if sample.model:
            by_model.setdefault(sample.model, []).append(sample)
    return {model: _profile(by_model[model]) for model in sorted(by_model)}


def _profile(samples: list[LatencySample]) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for s in samples:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    rates = [r for r in map(tokens_per_second, samples) if r is not None]
    return {
        "count": len(samples),
        "kinds": kinds,
        "first_byte_s": stats([s.headers_s for s in samples if s.headers_s is not None]),
        "first_token_s": stats([s.first_token_s for s in samples if s.first_token_s is not None]),
        "gap_s": stats([gap for s in samples for gap in s.gaps_s]),
        "total_s": stats([s.total_s for s in samples]),
        "tokens_per_s": stats(rates, digits=1),
    }


# --- HTML -----------------------------------------------------------------------------

LATENCY_STYLE = """<style>
.apex table.latency{width:auto} .apex table.latency td{white-space:nowrap}
.apex table.latency td.num{text-align:right;font-variant-numeric:tabular-nums}
.apex svg.latency{max-width:100%;height:auto;font:12px system-ui,sans-serif}
.apex svg.latency .token{fill:#2f6fbf} .apex svg.latency .token.p90{fill:#a9c6ec}
.apex svg.latency .total{fill:#4c9a63} .apex svg.latency .total.p90{fill:#b5dcc0}
.apex svg.latency .axis{stroke:#c9ced8}
</style>"""
_LABEL_W, _BAR_W, _BAR_H, _ROW_GAP = 230, 460, 11, 10


def latency_html(summary: dict[str, Any]) -> str:
    """The profile's chart and table, from summary.json alone; "" without a sample."""
    profiles = {m: p for m, p in (summary.get("latency") or {}).items() if p.get("count")}
    if not profiles:
        return ""
    return redact_text(
        f'{LATENCY_STYLE}<div class="apex" id="apex-latency"><h2>Latency per model</h2>'
        '<p class="quiet">INFO, never a verdict: timings of the requests the checks made, '
        "p50 / p90 / max (nearest rank); tokens per second after the first token of a stream."
        f"</p>{_chart(profiles)}{_table(profiles)}</div>"
    )


def _cell(measure: dict[str, Any] | None, scale: float) -> str:
    if measure is None:
        return '<td class="num quiet">&ndash;</td>'
    shown = " / ".join(f"{measure[k] * scale:.{0 if scale > 1 else 1}f}" for k in _KEYS)
    return f'<td class="num" title="{measure["n"]} samples">{shown}</td>'


def _table(profiles: dict[str, dict[str, Any]]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in MEASURES.values())
    out = [f'<table class="latency"><tr><th>model</th><th>requests</th>{head}</tr>']
    for model, p in profiles.items():
        kinds = ", ".join(f"{n} {kind}" for kind, n in p["kinds"].items())
        cells = "".join(_cell(p[m], 1 if m == "tokens_per_s" else 1000) for m in MEASURES)
        out.append(
            f'<tr><td>{escape(model)}</td><td class="num" title="{escape(kinds)}">'
            f"{p['count']}</td>{cells}</tr>"
        )
    out.append("</table>")
    return "".join(out)


def _chart(profiles: dict[str, dict[str, Any]]) -> str:
    """Horizontal bars per model: time to first token and total time, p90 behind p50."""
    top = max(
        (p[m]["p90"] for p in profiles.values() for m in ("first_token_s", "total_s") if p[m]),
        default=0.0,
    )
    scale = _BAR_W / top if top > 0 else 0.0
    row_h = 2 * _BAR_H + _ROW_GAP
    height = 28 + row_h * len(profiles) + 12  # the last row: the scale
    out = [
        f'<svg class="latency" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{_LABEL_W + _BAR_W + 120}" height="{height}" '
        f'viewBox="0 0 {_LABEL_W + _BAR_W + 120} {height}">'
        "<title>Time to first token and total time per model (p50, p90 lighter)</title>",
        _legend(),
    ]
    for i, (model, p) in enumerate(profiles.items()):
        y = 28 + i * row_h
        out.append(f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H + 3}" text-anchor="end">')
        out.append(f"{escape(model)}</text>")
        out.append(_bars("token", "first token", p["first_token_s"], y, scale))
        out.append(_bars("total", "total", p["total_s"], y + _BAR_H, scale))
    out.append(
        f'<line class="axis" x1="{_LABEL_W}" y1="22" x2="{_LABEL_W}" y2="{height}"/>'
        f'<text x="{_LABEL_W + _BAR_W}" y="{height - 2}" text-anchor="end" fill="#7a8292">'
        f"0 to {top * 1000:.0f} ms</text></svg>"
    )
    return "".join(out)


def _legend() -> str:
    items = (("token", "first token"), ("total", "total time"))
    return "".join(
        f'<rect class="{cls}" x="{_LABEL_W + i * 210}" y="6" width="12" height="10"/>'
        f'<text x="{_LABEL_W + i * 210 + 16}" y="15">{label} p50 (p90 lighter)</text>'
        for i, (cls, label) in enumerate(items)
    )


def _bars(cls: str, label: str, measure: dict[str, Any] | None, y: int, scale: float) -> str:
    if measure is None:
        return ""
    tip = f"{label}: p50 {measure['p50'] * 1000:.0f} ms, p90 {measure['p90'] * 1000:.0f} ms"
    p50, p90 = (max(1.0, measure[k] * scale) for k in ("p50", "p90"))
    return (
        f"<g><title>{escape(tip)}</title>"
        f'<rect class="{cls} p90" x="{_LABEL_W}" y="{y}" width="{p90:.1f}" height="{_BAR_H - 1}"/>'
        f'<rect class="{cls}" x="{_LABEL_W}" y="{y}" width="{p50:.1f}" height="{_BAR_H - 1}"/>'
        f'<text x="{_LABEL_W + p90 + 4:.1f}" y="{y + _BAR_H - 2}" font-size="10">'
        f"{measure['p50'] * 1000:.0f} / {measure['p90'] * 1000:.0f} ms</text></g>"
    )
