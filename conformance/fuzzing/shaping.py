"""Which generated cases are sent, and the shape they are sent in: cheap, and still true.

- chat requests never ask for more than 16 tokens, positive image requests for one image;
- generated model ids are replaced by the run's real models, or every request would just
  get "unknown model" and prove nothing (one fuzzing case in UNKNOWN_MODEL_SHARE keeps its
  generated id: an unknown model must be rejected too);
- schemathesis' request-shape probes (methods and media types the description does not
  declare) are never sent: see `worth_sending`.

Every choice is a pure function of the case and the seed, so that replays agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from conformance.fuzzing.config import TYPE_SAMPLE, UNKNOWN_MODEL_SHARE, Examples
from conformance.fuzzing.oracle import (
    CHAT,
    IMAGES,
    REQUEST_COMPONENT,
    AnyCase,
    is_model_id,
    must_violations,
)
from conformance.internals import (
    REQUEST_SHAPE_PROBES,
    CoveragePhaseData,
    CoverageScenario,
    FuzzingPhaseData,
)
from conformance.spec import payloads, schemas

# Positive chat bodies are cut to this many messages of this many characters: prompt tokens
# cost money too, and Hypothesis likes long strings.
MAX_MESSAGES = 4
MAX_CONTENT = 200
ROLES = ("system", "user", "assistant")


class ModelChoice(Protocol):
    """The run's chosen models and the listing (conformance.session.model_choice.Models)."""

    @property
    def chat(self) -> str | None: ...

    @property
    def image(self) -> str | None: ...

    @property
    def listing(self) -> list[dict[str, Any]]: ...


def worth_sending(case: AnyCase, examples: Examples, seed: int) -> bool:
    """Whether the profile sends this generated case."""
    meta = case.meta
    if meta is None or not isinstance(meta.phase.data, CoveragePhaseData):
        return True
    scenario = meta.phase.data.scenario
    if scenario in REQUEST_SHAPE_PROBES:
        # A method or media type the API does not document: HTTP lets the server answer
        # 405 or 501 (RFC 9110 15.5.6, 15.6.2), 415, another 4xx, or serve it (OpenAI
        # answers GET /chat/completions). Nothing the contract states is at stake, so no
        # answer is a MUST finding, and FUZZ-01 is the only verdict this test can give.
        return False
    if examples.coverage == "all":
        return True
    if examples.coverage == "none":
        return False
    if not must_violations(case.operation.label, case.body):
        return False  # breaks a SHOULD only (top_p 2, prompt ""): no MUST verdict to win
    if scenario is CoverageScenario.INCORRECT_TYPE:
        return _pick(seed, case.body, TYPE_SAMPLE)
    return True


def shape(case: AnyCase, models: ModelChoice, *, negative: bool, seed: int) -> None:
    """Give the case the body to send instead of the generated one."""
    label = case.operation.label
    if label not in REQUEST_COMPONENT:
        return
    fuzzing = case.meta is not None and isinstance(case.meta.phase.data, FuzzingPhaseData)
    keep = fuzzing and _pick(seed, case.body, UNKNOWN_MODEL_SHARE)
    # A new object (not an in-place edit) so schemathesis re-derives whether the case is
    # still negative.
    case.body = shape_body(label, case.body, models, negative=negative, keep_model=keep)


def shape_body(
    label: str, body: Any, models: ModelChoice, *, negative: bool, keep_model: bool = False
) -> Any:
    """The body to send instead of the generated one; invalid parts stay invalid.

    Only values that are already valid are changed, and only to other valid values, so a
    negative case keeps exactly the fault it was generated with. A well-formed generated
    model id is replaced by the run's model unless `keep_model` (it then names a model
    that almost surely does not exist, which is worth sending now and then).
    """
    if not isinstance(body, dict) or label not in REQUEST_COMPONENT:
        return body
    shaped = dict(body)
    model = models.chat if label == CHAT else models.image
    if model is not None and is_model_id(shaped.get("model")) and not keep_model:
        shaped["model"] = model
    if label == CHAT:
        tokens = shaped.get("max_tokens", payloads.MAX_TOKENS)
        if schemas.is_integer(tokens) and int(tokens) >= 1:
            shaped["max_tokens"] = min(int(tokens), payloads.MAX_TOKENS)
        if not negative:
            shaped["messages"] = _plain_messages(shaped.get("messages"))
            if shaped.get("stream") is True:
                # Streams are judged by the SSE checks; a stream here could only show a 5xx
                # and, on a stalling server, would cost the idle timeout once per case.
                shaped["stream"] = False
    elif label == IMAGES:
        count: Any = shaped.get("n")
        if schemas.is_integer(count) and int(count) > 1:
            shaped["n"] = 1
    return shaped


def _plain_messages(messages: Any) -> Any:
    # The document leaves roles open, so generated roles are random strings that any
    # OpenAI-format server rejects; a valid request with a known role gets a completion
    # whose shape can be checked.
    if not isinstance(messages, list):
        return messages
    plain = []
    for message in messages[:MAX_MESSAGES]:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            message = {**message, "content": message["content"][:MAX_CONTENT]}
            if message.get("role") not in ROLES:
                message["role"] = "user"
        plain.append(message)
    return plain


def _pick(seed: int, value: object, share: int) -> bool:
    """A seeded one-in-`share` choice that depends on `value` only, so replays agree."""
    # By type name for what JSON cannot hold (NotSet): a repr would carry an address.
    text = json.dumps(value, sort_keys=True, default=lambda other: type(other).__name__)
    digest = hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % share == 0
