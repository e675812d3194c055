"""Generated faults from the contract families: mutations of the reference, one case each.

Beside the hand-written zoo (faults.py) and the faults of the invalid-request cases
(case_faults.py), each case of contract/families.py gets a server broken for exactly it:
- `mut-accept-*`: accepts one near-miss or wrong-type request, as a lax parser would;
- `mut-refuse-*`: refuses one valid request the document makes acceptable, with a 400;
- `mut-crash-*`: answers one valid edge request (one a model may refuse) with a 500;
- `mut-json-*`, `mut-stream-*`: corrupts the meaning of one answer field on one path only
  (JSON or streamed answers to requests that carry top_p), as a gateway's one adapter would.
The proof then covers every generated check; `python -m conformance.reference.mutation_score`
runs them and prints the mutation score per family.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from conformance.catalogue import check_id, requirements, slug
from conformance.contract.families import Generated, invalid_cases, probe_body, valid_probes
from conformance.reference.case_faults import accepted
from conformance.reference.served_models import CHAT_MODELS

Spec = tuple[str, str, tuple[str, ...], str, tuple[str, ...], tuple[str, ...]]
ACCEPT, REFUSE, CRASH = "mut-accept-", "mut-refuse-", "mut-crash-"


def _name(prefix: str, generated: Generated) -> str:
    return prefix + slug(generated.id)


ACCEPTING: dict[str, Generated] = {_name(ACCEPT, g): g for g in invalid_cases()}
REFUSING: dict[str, Generated] = {
    _name(REFUSE if g.must_accept else CRASH, g): g for g in valid_probes()
}


def _function(generated: Generated) -> str:
    if generated.must_accept is None:
        return "invalid_value_rejected"
    return "valid_value_accepted" if generated.must_accept else "valid_edge_no_server_error"


# Answer-field corruptions: field -> (how, the invariant check that must catch it).
ANSWER_FIELDS: dict[str, tuple[str, str]] = {
    "created-in-milliseconds": (
        "gives created in milliseconds",
        "CHAT-27/every-answer-created-recent",
    ),
    "model-swapped": ("names another model", "CHAT-05/every-answer-model-echoed"),
    "finish-reason-done": ("says finish_reason 'done'", "CHAT-04/every-answer-finish-reason"),
    "completion-over-max-tokens": (
        "counts 5 completion tokens above max_tokens",
        "CHAT-08/every-answer-within-max-tokens",
    ),
}
# Streams carry usage only when asked (stream_options), which the top_p requests never are.
ANSWERING: dict[str, tuple[str, str]] = {
    f"mut-{path}-{field}": (path, field)
    for path in ("json", "stream")
    for field in ANSWER_FIELDS
    if not (path == "stream" and field == "completion-over-max-tokens")
}


# Usage that reads right alone and wrong beside another answer: path -> the check.
COUNTING: dict[str, tuple[str, str, str]] = {
    "mut-json-prompt-tokens-fixed": (
        "json", "reports prompt_tokens 10 whatever the prompt", "CHAT-28/*"
    ),
    "mut-stream-prompt-tokens-off": (
        "stream", "counts 3 prompt tokens more than the JSON answer",
        "CHAT-28/stream-counts-the-prompt-alike",
    ),
}  # fmt: skip


def family_of(name: str) -> str | None:
    """The family of a generated fault's case (None: not a mutant)."""
    if name in ANSWERING:
        return "answer-field"
    if name in COUNTING:
        return "differential"
    found = ACCEPTING.get(name) or REFUSING.get(name)
    return found.family if found is not None else None


def corrupt(
    body: dict[str, Any], model: str, completion: Any, faults: Iterable[str]
) -> tuple[str, Any]:
    """The model and Completion an active answer-field mutant answers `body` with."""
    streamed = body.get("stream") is True
    for name in faults:
        if name in COUNTING and (COUNTING[name][0] == "stream") == streamed:
            fixed = 10 if name == "mut-json-prompt-tokens-fixed" else completion.prompt_tokens + 3
            completion = replace(completion, prompt_tokens=fixed)
        if name not in ANSWERING or "top_p" not in body:
            continue
        path, field = ANSWERING[name]
        if (path == "stream") != (body.get("stream") is True):
            continue
        if field == "created-in-milliseconds":
            completion = replace(completion, created=completion.created * 1000)
        elif field == "model-swapped":
            model = next(m for m in CHAT_MODELS if m != model)  # listed, but not the one asked
        elif field == "finish-reason-done":
            completion = replace(completion, finish_reason="done")
        else:
            limit = body.get("max_tokens") or 0
            completion = replace(completion, completion_tokens=int(limit) + 5)
    return model, completion


def specs() -> list[Spec]:
    """(name, description, breaks, profile, checks, scope) of every mutant."""
    found: list[Spec] = []
    for name, g in (*ACCEPTING.items(), *REFUSING.items()):
        action = {
            ACCEPT: "Accepts exactly the invalid request",
            REFUSE: "Refuses with a 400 exactly the valid request",
            CRASH: "Crashes with a 500 on exactly the valid request",
        }[next(p for p in (ACCEPT, REFUSE, CRASH) if name.startswith(p))]
        check = check_id(g.requirement, _function(g), g.id)
        found.append(
            (name, f"{action} {g.id!r} ({g.family}).", (g.requirement,),
             requirements()[g.requirement].profile, (check,), (f"*/*/{slug(g.id)}",))
        )  # fmt: skip
    for name, (path, field) in ANSWERING.items():
        how, check = ANSWER_FIELDS[field]
        description = f"In {path} answers to requests with top_p, {how}."
        found.append((name, description, (check.split("/")[0],), "standard", (check,), ()))
    for name, (path, how, check) in COUNTING.items():
        description = f"In every {path} answer, {how}."
        found.append((name, description, ("CHAT-28",), "standard", (check,), ()))
    return found


def accept(path: str, body: dict[str, Any], faults: Iterable[str]) -> dict[str, Any]:
    """`body` as an active accept-mutant reads its one request; else unchanged."""
    for name in faults:
        generated = ACCEPTING.get(name)
        if generated is not None and (fixed := accepted(generated.case, path, body)) is not None:
            return fixed
    return body


def refuse(path: str, body: dict[str, Any], faults: Iterable[str]) -> None:
    """Raise the 400 or the crash of an active refuse- or crash-mutant for its one request."""
    # errors.py imports the fault registry, which imports this module: a deferred import.
    from conformance.reference.errors import ApiError, InjectedCrash

    for name in faults:
        generated = REFUSING.get(name)
        if generated is None or generated.case.path != path:
            continue
        change = generated.case.change
        assert isinstance(change, dict)
        if body != probe_body(path, change, str(body.get("model"))):
            continue
        if name.startswith(CRASH):
            raise InjectedCrash(f"mutant {name}")
        raise ApiError(400, f"Unsupported request ({generated.case.what}).", code="unsupported")
