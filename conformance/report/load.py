"""How the run's load on the target is told: what it sustained, what was sent again alone."""

from __future__ import annotations

from typing import Any


def load_sentence(load: dict[str, Any]) -> str:
    """One line from summary.json's `run.load`."""
    sentence = (
        f"load: up to {load['peak']} requests in flight at once (--concurrency={load['ceiling']})"
    )
    if load["decreases"]:
        sentence += (
            f"; the target showed strain {load['decreases']} times (timeouts, drops, 5xx, 429) "
            f"and sustained {load['final_limit']} at the end"
        )
    if load["sent_again_alone"]:
        sentence += (
            f"; {load['sent_again_alone']} requests that failed under load were sent again "
            "alone, and their second answers judged"
        )
    return sentence
