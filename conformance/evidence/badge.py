"""A badge (SVG) of a verified run: verdict, profile, suite version and date."""

from __future__ import annotations

from html import escape
from typing import Any

_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "not-judged": "#b26a00"}
_GREY = "#616161"
_CHAR_WIDTH = 6.6  # px per character of 11 px Verdana, near enough for a badge
_LABEL = "ApexApi conformance"


def badge_svg(summary: dict[str, Any]) -> str:
    """The badge of a run, from its summary.json alone."""
    run, verdict = summary["run"], str(summary["gate"]["verdict"])
    date = str(run.get("started", ""))[:10]
    value = f"{verdict} | {run.get('profile', '')} | v{run.get('suite_version', '')} | {date}"
    left = int(len(_LABEL) * _CHAR_WIDTH) + 12
    right = int(len(value) * _CHAR_WIDTH) + 12
    colour = _COLOURS.get(verdict, _GREY)
    title = escape(f"{_LABEL}: {value} (target {run.get('target', '')})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20" '
        f'role="img" aria-label="{title}"><title>{title}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(_LABEL)}</text>'
        f'<text x="{left + 6}" y="14">{escape(value)}</text></g></svg>'
    )
