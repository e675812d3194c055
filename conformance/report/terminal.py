"""The compliance summary printed at the end of a run."""

from __future__ import annotations

from conformance.state import RunState


def summary_lines(state: RunState) -> list[str]:
    facts = state.facts
    lines = [f"target: {facts['target']}  profile: {facts['profile']}  fail-on: {facts['fail_on']}"]
    if state.matrix is not None:
        for level, counts in state.matrix.totals().items():
            shown = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
            lines.append(f"{level:6} {shown or 'none'}")
        for row in state.matrix.rows:
            if row.verdict in ("failed", "warned", "error"):
                first = next((c.message for c in row.checks if c.verdict == row.verdict and c.message), "")
                lines.append(f"  {row.verdict.upper():6} {row.id} [{row.level}] {row.requirement.rule}")
                if first:
                    lines.append(f"         {first.splitlines()[0][:160]}")
    spent = facts["spend"]
    lines.append(
        f"spent: {spent['requests']} requests, {spent['prompt_tokens']} prompt + "
        f"{spent['completion_tokens']} completion tokens, {spent['images']} images"
    )
    lines.append(f"models: chat {facts['chat_model']}, image {facts['image_model']}")
    lines.append(f"overall: {facts['overall'].upper()}  reports: {state.settings.report_dir}/")
    return lines
