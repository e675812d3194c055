"""The fault registry: named ways to break the reference server, one rule each.

Handlers test membership (`"chat-ignore-stop" in faults`); this module is data only,
so the lead can tune `breaks` and `may_also_break` after running the suite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Faults = frozenset[str]


@dataclass(frozen=True)
class Fault:
    """One deliberately broken behaviour and the requirements it must trip."""

    name: str
    description: str  # one sentence: what the server does wrong
    breaks: tuple[str, ...]  # must show failed (warned for SHOULD); the first is pinned
    may_also_break: tuple[str, ...] = ()  # may fail too, as a consequence
    profile: str = "standard"  # smallest profile whose checks catch it


def _ids(*spans: str) -> tuple[str, ...]:
    """Expand "CHAT-12..CHAT-20" style spans into single IDs (plain IDs pass through)."""
    out: list[str] = []
    for span in spans:
        first, sep, last = span.partition("..")
        if not sep:
            out.append(first)
            continue
        area, start = first.rsplit("-", 1)
        stop = last.rsplit("-", 1)[1]
        out.extend(f"{area}-{i:02d}" for i in range(int(start), int(stop) + 1))
    return tuple(out)


_REJECTIONS = _ids(
    "HTTP-03", "CHAT-12..CHAT-20", "IMG-08..IMG-13", "AUTH-10", "SSE-10",
    "ERR-03", "ERR-04", "ERR-05", "FUZZ-01",
)  # fmt: skip

_FAULT_LIST: tuple[Fault, ...] = (
    # --- auth -------------------------------------------------------------------------
    Fault("auth-accept-any-key", "Accepts any non-empty Bearer credentials, not only the real key.",
          ("AUTH-02",), _ids("AUTH-03", "AUTH-04", "AUTH-05", "AUTH-07", "AUTH-10"), "smoke"),
    Fault("auth-no-key-accepted", "Lets requests without an Authorization header through.",
          ("AUTH-01",), ("AUTH-10", "AUTH-07"), "smoke"),
    Fault("auth-models-public", "Serves GET /v1/models without any key check; other routes check.",
          ("AUTH-01",), _ids("AUTH-02..AUTH-05", "AUTH-07"), "smoke"),
    Fault("auth-accept-malformed", "Accepts any key that is not of the documented ak- 48 form.",
          ("AUTH-03",), ("AUTH-04", "AUTH-07")),
    Fault("auth-prefix-match", "Accepts any key whose first 24 characters match the real key.",
          ("AUTH-05",), ("AUTH-07",), "smoke"),
    Fault("auth-any-scheme", "Accepts the real key under any scheme word (Token, Basic, ...).",
          ("AUTH-04",), ("AUTH-07",)),
    Fault("auth-400", "Answers authentication failures with 400 instead of 401.",
          ("AUTH-07",), (), "smoke"),
    Fault("auth-case-sensitive-scheme", "Rejects the scheme word unless it is exactly 'Bearer'.",
          ("AUTH-08",)),
    Fault("auth-reject-valid-images", "Refuses the real key on POST /v1/images/generations.",
          ("AUTH-06",)),
    Fault("auth-echo-key", "Echoes the submitted key in the 401 error message.", ("AUTH-09",)),
    Fault("auth-after-validation", "Validates the request body before checking the key.",
          ("AUTH-10",)),
    # --- http -------------------------------------------------------------------------
    Fault("http-500-malformed-json", "Crashes with a 500 on a body that is not valid JSON.",
          ("HTTP-03", "ERR-01"), ("ERR-03", "ERR-05", "HTTP-02", "FUZZ-01"), "smoke"),
    Fault("http-unknown-path-400", "Answers unknown paths with 400 instead of 404.", ("HTTP-04",)),
    Fault("http-text-errors", "Sends every error as text/plain 'error: ...' instead of JSON.",
          ("HTTP-02",), ("ERR-03", "ERR-04")),
    Fault("http-reject-non-ascii", "Rejects chat messages containing non-ASCII text with 400.",
          ("HTTP-05",)),
    # --- errors -----------------------------------------------------------------------
    Fault("err-error-as-200", "Sends validation errors with status 200 and the envelope.",
          ("ERR-02",), _REJECTIONS, "smoke"),
    Fault("err-no-envelope", "Sends error fields at the top level, without the 'error' wrapper.",
          ("ERR-03",), ("ERR-04",), "smoke"),
    Fault("err-bare-envelope", "Sends an error object with a message and nothing else.",
          ("ERR-04",)),
    Fault("err-422", "Answers invalid parameters with 422 instead of 400.", ("ERR-05",)),
    Fault("err-500-unknown-model", "Crashes with a 500 when the model does not exist.",
          ("CHAT-20", "ERR-01"), ("ERR-05", "IMG-12", "FUZZ-01"), "smoke"),
    # --- models -----------------------------------------------------------------------
    Fault("models-no-pricing", "Lists models without a pricing object.",
          ("MODELS-04",), ("MODELS-05", "MODELS-08", "FUZZ-02"), "smoke"),
    Fault("models-numeric-prices", "Lists prices as JSON numbers instead of decimal strings.",
          ("MODELS-05",)),
    Fault("models-bare-id", "Lists and serves an extra model 'legacy-model' with no provider.",
          ("MODELS-03",), ("MODELS-06", "FUZZ-02"), "smoke"),
    Fault("models-owned-by-mismatch", "Lists owned_by 'apexapi' instead of the provider prefix.",
          ("MODELS-06",)),
    Fault("models-duplicate-ids", "Lists one model twice.", ("MODELS-07",)),
    Fault("models-created-string", "Lists created as a string instead of an integer.",
          ("MODELS-02",), ("FUZZ-02",), "smoke"),
    Fault("models-wrong-list-object", "Answers the model list with object 'models', not 'list'.",
          ("MODELS-01",), ("FUZZ-02",), "smoke"),
    # --- chat -------------------------------------------------------------------------
    Fault("chat-not-a-completion", "Answers chat requests with a bare 'output' text, no choices.",
          ("CHAT-01", "CHAT-03"), ("SSE-09", "FUZZ-02"), "smoke"),
    Fault("chat-model-null", "Reports model null in non-stream completions.",
          ("FUZZ-02", "CHAT-05")),
    Fault("chat-wrong-object", "Labels completions object 'chat.completions' instead of "
          "'chat.completion'.", ("CHAT-02",), ("FUZZ-02",), "smoke"),
    Fault("chat-user-role", "Returns the reply with message.role 'user'.",
          ("CHAT-03",), ("FUZZ-02",), "smoke"),
    Fault("chat-bad-finish-reason", "Reports finish_reason 'done', outside the OpenAI set.",
          ("CHAT-04",), ("CHAT-09", "SSE-07", "FUZZ-02"), "smoke"),
    Fault("chat-model-mismatch", "Reports another model id than the one requested.",
          ("CHAT-05",)),
    Fault("chat-no-usage", "Leaves usage out of non-stream completions.",
          ("CHAT-06",), ("CHAT-07", "CHAT-08", "CHAT-09", "FUZZ-02"), "smoke"),
    Fault("chat-wrong-total", "Reports total_tokens one more than prompt plus completion.",
          ("CHAT-07",), (), "smoke"),
    Fault("chat-ignore-max-tokens", "Ignores max_tokens and always returns the whole reply.",
          ("CHAT-08",), ("CHAT-09",), "smoke"),
    Fault("chat-stop-on-length", "Says finish_reason 'stop' for replies cut by max_tokens.",
          ("CHAT-09",)),
    Fault("chat-reject-temperature-2", "Rejects temperature 2 (treats the bound as exclusive).",
          ("CHAT-10",)),
    Fault("chat-accept-temperature-3", "Accepts temperatures up to 3.",
          ("CHAT-12", "FUZZ-01")),
    Fault("chat-reject-string-stop", "Rejects stop given as a single string.", ("CHAT-11",)),
    Fault("chat-accept-5-stops", "Accepts any number of stop sequences.",
          ("CHAT-16", "FUZZ-01")),
    Fault("chat-ignore-stop", "Ignores stop sequences, so replies contain them.", ("CHAT-21",)),
    Fault("chat-accept-top-p-1.5", "Accepts top_p up to 2.", ("CHAT-13",), ("FUZZ-01",)),
    Fault("chat-accept-max-tokens-0", "Accepts max_tokens of 0 and below.",
          ("CHAT-14",), ("FUZZ-01", "CHAT-08")),
    Fault("chat-coerce-max-tokens-string", "Accepts a numeric string max_tokens such as '16'.",
          ("CHAT-15",), (), "full"),
    Fault("chat-default-model", "Uses openai/gpt-4o-mini when model is missing.",
          ("CHAT-17",), ("FUZZ-01",), "smoke"),
    Fault("chat-accept-empty-messages", "Accepts an empty messages array.", ("CHAT-18",),
          ("FUZZ-01",)),
    Fault("chat-accept-bare-model", "Resolves a bare id such as 'gpt-4o' to openai/gpt-4o.",
          ("CHAT-19",), ("FUZZ-01",)),
    Fault("chat-accept-unknown-model", "Serves unknown chat model ids with a listed model.",
          ("CHAT-20",), ("FUZZ-01",), "smoke"),
    Fault("chat-500-unknown-field", "Crashes with a 500 on an unknown request field.",
          ("CHAT-22",), ("ERR-01", "FUZZ-01"), "full"),
    # --- streaming --------------------------------------------------------------------
    Fault("sse-stream-ignored", "Answers stream: true with a plain JSON completion.",
          ("SSE-02",), _ids("SSE-03..SSE-11"), "smoke"),
    Fault("sse-stream-default", "Streams Server-Sent Events when stream is omitted.",
          ("SSE-01",), _ids("CHAT-01..CHAT-11", "CHAT-21", "CHAT-22", "HTTP-02", "HTTP-05",
                            "SSE-09", "FUZZ-02"), "smoke"),
    Fault("sse-wrong-content-type", "Sends the event stream as text/plain.",
          ("SSE-02",), _ids("SSE-03..SSE-11", "FUZZ-02"), "smoke"),
    Fault("sse-not-json", "Sends chunk data as Python reprs instead of JSON.",
          ("SSE-03",), _ids("SSE-05..SSE-09", "SSE-11"), "smoke"),
    Fault("sse-no-blank-line", "Ends events with one newline, so no event is ever dispatched.",
          ("SSE-03",), _ids("SSE-05..SSE-09", "SSE-11"), "smoke"),
    Fault("sse-stall", "Sends the role chunk, then nothing, holding the stream open for 120 s.",
          ("SSE-04",), _ids("SSE-05..SSE-09", "SSE-11")),
    Fault("sse-changing-id", "Gives every chunk of a stream a new id.", ("SSE-05",), (), "smoke"),
    Fault("sse-no-role", "Leaves delta.role out of the first chunk.", ("SSE-06",)),
    Fault("sse-two-finish-reasons", "Sends the finish_reason chunk twice.", ("SSE-07",)),
    Fault("sse-no-done", "Ends the stream without data: [DONE].", ("SSE-08",), (), "smoke"),
    Fault("sse-empty-content", "Streams deltas whose content is always empty.", ("SSE-09",)),
    Fault("sse-error-as-stream", "Answers an invalid streamed request with a 400 event stream.",
          ("SSE-10",)),
    # --- images -----------------------------------------------------------------------
    Fault("img-fewer-than-n", "Returns n-1 images when n > 1.", ("IMG-02",), (), "smoke"),
    Fault("img-no-url", "Returns items with revised_prompt only, no url or b64_json.",
          ("IMG-03",), ("IMG-04", "IMG-05", "FUZZ-02"), "smoke"),
    Fault("img-broken-url", "Returns image URLs that answer 404.", ("IMG-04",), ("IMG-05",),
          "smoke"),
    Fault("img-wrong-size", "Serves every image at half the requested width and height.",
          ("IMG-05",)),
    Fault("img-reject-1792", "Rejects size 1792x1024 on every model.", ("IMG-06",), (), "full"),
    Fault("img-reject-hd", "Rejects quality hd on every model.", ("IMG-07",), (), "full"),
    Fault("img-accept-any-size", "Accepts any size string.", ("IMG-08", "FUZZ-01")),
    Fault("img-accept-unknown-quality", "Accepts any quality string.", ("IMG-09",),
          ("FUZZ-01",)),
    Fault("img-accept-n-0", "Accepts n of 0 and below, returning no images.", ("IMG-10",),
          ("FUZZ-01", "IMG-02")),
    Fault("img-accept-missing-prompt", "Accepts image requests without a prompt.",
          ("IMG-11",), ("FUZZ-01",), "smoke"),
    Fault("img-accept-unknown-model", "Serves unknown image model ids with a listed model.",
          ("IMG-12",), ("FUZZ-01",)),
    Fault("img-coerce-n-string", "Accepts a numeric string n such as '1'.", ("IMG-13",), (),
          "full"),
    Fault("img-no-created", "Leaves created out of image responses.", ("IMG-01",), ("FUZZ-02",),
          "smoke"),
)  # fmt: skip

FAULTS: dict[str, Fault] = {fault.name: fault for fault in _FAULT_LIST}

# Conforming but awkward servers: the suite must pass them with no failure or warning.
VARIANTS: dict[str, str] = {
    "variant-freedoms": (
        "Uses every freedom of interpretation section 4 at once: extra fields, gen- ids, "
        "charset parameters, SSE comments, CRLF, data: without space, id:/event:/retry: "
        "fields, split writes, an unasked usage chunk, 400 for an unknown model, integer "
        "error codes and extra pricing keys."
    ),
    "variant-slow": "Delays every response by 2 seconds (without blocking the server).",
}


def check_names(names: Iterable[str]) -> Faults:
    """The given fault and variant names as a set; ValueError names any unknown one."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys() - VARIANTS.keys())
    if unknown:
        raise ValueError(f"unknown fault name(s): {', '.join(unknown)}")
    return chosen
