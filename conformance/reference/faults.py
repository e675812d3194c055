"""The fault registry: named ways to break the reference server, one rule each.

Handlers test membership (`"chat-ignore-stop" in faults`); this module is data only,
so the lead can tune `breaks` and `may_also_break` after running the suite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from conformance.reference.case_faults import (
    OTHER_CASES,
    UNKNOWN_MODEL_CASES,
    case_checks,
)
from conformance.reference.case_faults import specs as case_fault_specs
from conformance.reference.mutants import specs as mutant_specs

Faults = frozenset[str]


@dataclass(frozen=True)
class Fault:
    """One deliberately broken behaviour and the requirements it must trip."""

    name: str
    description: str  # one sentence: what the server does wrong
    breaks: tuple[str, ...]  # must show failed (warned for SHOULD); the first is pinned
    may_also_break: tuple[str, ...] = ()  # may fail too, as a consequence
    profile: str = "standard"  # smallest profile whose checks catch it
    # Check IDs (fnmatch patterns; a bare requirement ID means all its checks) that must
    # each fail, or warn for SHOULD: the check-level proof (tests/test_fault_zoo.py).
    checks: tuple[str, ...] = ()
    # Check ID patterns a run against it may be narrowed to: only these checks send the
    # requests it answers differently. tests/test_fault_zoo.py runs one fault of each
    # scoped family whole, so the claim is checked.
    scope: tuple[str, ...] = ()
    # Suite options a run against it needs, e.g. the model it serves but does not list.
    options: tuple[str, ...] = ()


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


def _refused(requirement: str, *variants: str) -> tuple[str, ...]:
    """The credentials-refused checks of some auth variants, on every endpoint."""
    return tuple(f"{requirement}/credentials-refused/*-{v}" for v in variants)


def _echoed(*variants: str) -> tuple[str, ...]:
    return tuple(f"AUTH-09/key-not-echoed/*-{v}" for v in variants)


# The reach checks (AUTH-12) a server that lets a keyless GET or HEAD through fails: HEAD on
# the model list, and a keyless request after an accepted one.
_REACH_NO_KEY = (
    "AUTH-12/no-key-reaches-nothing/models-head",
    "AUTH-12/refused-after-an-accepted-request/models",
    "AUTH-12/refused-after-an-accepted-request/chat",
)

_OFFERS = (
    *(("size", size) for size in ("256x256", "512x512", "1024x1024", "1024x1792", "1792x1024")),
    *(("quality", quality) for quality in ("standard", "hd")),
)
# The run's first image request (payloads.IMAGE_ATTEMPTS) names 256x256: its checks see it too.
_OFFER_ALSO = {"256x256": ("IMG-02/exactly-n-items/*", "IMG-03/items-have-image")}

_FAULT_LIST: tuple[Fault, ...] = (
    # --- auth -------------------------------------------------------------------------
    Fault("auth-accept-any-key", "Accepts any non-empty Bearer credentials, not only the real key.",
          ("AUTH-02",), (), "smoke",
          checks=("AUTH-02", *_refused("AUTH-03", "sk-prefix", "ak-too-short", "ak-200-chars"),
                  "AUTH-05")),
    Fault("auth-no-key-accepted", "Lets requests without an Authorization header through.",
          ("AUTH-01",), (), "smoke", checks=("AUTH-01", "AUTH-10", *_REACH_NO_KEY)),
    Fault("auth-models-public", "Serves GET /v1/models without any key check; other routes check.",
          ("AUTH-01",), (), "smoke", checks=("AUTH-0[1-5]/credentials-refused/models-*",
                                             *_REACH_NO_KEY[:2])),
    Fault("auth-accept-malformed", "Accepts any key that is not of the documented ak- 48 form.",
          ("AUTH-03",), (),
          checks=(*_refused("AUTH-03", "sk-prefix", "ak-too-short", "ak-200-chars"),
                  *_refused("AUTH-05", "ak-prefix-removed", "characters-appended",
                            "first-24-characters", "key-upper-cased"))),
    Fault("auth-prefix-match", "Accepts any key whose first 24 characters match the real key.",
          ("AUTH-05",), (), "smoke",
          checks=_refused("AUTH-05", "last-character-changed", "middle-character-changed",
                          "characters-appended", "first-24-characters")),
    Fault("auth-key-case-insensitive", "Compares keys without regard to case.", ("AUTH-05",),
          checks=_refused("AUTH-05", "key-upper-cased", "key-lower-cased")),
    Fault("auth-key-startswith", "Accepts any credentials that begin with the real key.",
          ("AUTH-05",), checks=_refused("AUTH-05", "characters-appended")),
    Fault("auth-key-prefix-optional", "Accepts the real key with or without its ak- prefix.",
          ("AUTH-05",), checks=_refused("AUTH-05", "ak-prefix-removed")),
    Fault("auth-key-truncated-compare", "Compares only as many characters as were sent, so "
          "any start of the real key passes.", ("AUTH-05",),
          checks=_refused("AUTH-05", "first-24-characters")),
    Fault("auth-key-off-by-one", "Compares all characters of the key but the last.",
          ("AUTH-05",), checks=_refused("AUTH-05", "last-character-changed")),
    Fault("auth-empty-token-accepted", "Lets 'Authorization: Bearer' with no key through.",
          ("AUTH-03",), checks=_refused("AUTH-03", "empty-credentials")),
    Fault("auth-any-scheme", "Accepts the real key under any scheme word (Token, Basic, ...).",
          ("AUTH-04",), checks=_refused("AUTH-04", "token-scheme")),
    Fault("auth-scheme-optional", "Accepts the bare real key without a scheme word.",
          ("AUTH-04",), checks=_refused("AUTH-04", "no-scheme")),
    Fault("auth-400", "Answers authentication failures with 400 instead of 401.",
          ("AUTH-07",), (), "smoke", checks=("AUTH-07", "AUTH-10")),
    # A 404 on a route the configured key reaches is a refusal with the wrong status.
    Fault("auth-404", "Answers authentication failures with 404, as if the route did not exist.",
          ("AUTH-07",), (), "smoke", checks=("AUTH-07", "AUTH-10")),
    Fault("auth-error-as-200", "Answers authentication failures with 200 and an error body.",
          ("AUTH-01", "ERR-02"), (), "smoke",
          checks=("AUTH-0[1-5]/credentials-refused/*", "ERR-02/no-error-with-200/models-no-key",
                  "AUTH-10", _REACH_NO_KEY[0])),
    Fault("auth-500-no-key", "Crashes with a 500 when the Authorization header is missing.",
          ("AUTH-01", "ERR-01"), (), "smoke",
          checks=("AUTH-01", "ERR-01/no-server-error/models-no-key", "AUTH-10")),
    Fault("auth-case-sensitive-scheme", "Rejects the scheme word unless it is exactly 'Bearer'.",
          ("AUTH-08",), checks=("AUTH-08",)),
    Fault("auth-scheme-two-spellings", "Accepts the scheme word only as 'Bearer' or 'bearer'.",
          ("AUTH-08",), checks=("AUTH-08/*-upper-case-bearer", "AUTH-08/*-mixed-case-bearer")),
    # A server that refuses the key on a route cannot be judged there: those checks are
    # errors (not judged), never failures.
    Fault("auth-reject-valid-images", "Refuses the real key on POST /v1/images/generations.",
          ("AUTH-06",), checks=("AUTH-06/configured-key-accepted/images",)),
    Fault("auth-reject-valid-chat", "Refuses the real key on POST /v1/chat/completions.",
          ("AUTH-06",), checks=("AUTH-06/configured-key-accepted/chat",)),
    # The same refused answer is also no model list (MODELS-01).
    Fault("auth-reject-valid-models", "Refuses the real key on GET /v1/models.",
          ("AUTH-06",), ("MODELS-01",), checks=("AUTH-06/configured-key-accepted/models",)),
    Fault("auth-echo-key", "Echoes the submitted key in the 401 error message.", ("AUTH-09",),
          checks=_echoed("unknown-ak-key", "sk-prefix", "ak-too-short", "ak-200-chars",
                         "last-character-changed", "middle-character-changed",
                         "key-upper-cased", "key-lower-cased", "characters-appended",
                         "ak-prefix-removed", "first-24-characters")),
    Fault("auth-echo-header", "Quotes the whole Authorization header in its unsupported-scheme "
          "error.", ("AUTH-09",), checks=_echoed("token-scheme", "no-scheme")),
    Fault("auth-after-validation", "Validates the request body before checking the key.",
          ("AUTH-10",), checks=("AUTH-10",)),
    # Another way to the same handler that skips the key check (reach.py).
    Fault("auth-reach-double-slash", "Collapses doubled slashes after the key check, so "
          "/v1//models is served without a key.", ("AUTH-12",),
          checks=("AUTH-12/no-key-reaches-nothing/*-doubled-slash",)),
    Fault("auth-reach-trailing-slash", "Strips a trailing slash after the key check, so "
          "/v1/models/ is served without a key.", ("AUTH-12",),
          checks=("AUTH-12/no-key-reaches-nothing/*-trailing-slash",)),
    Fault("auth-reach-case", "Lower-cases the path after the key check, so /V1/MODELS is "
          "served without a key.", ("AUTH-12",),
          checks=("AUTH-12/no-key-reaches-nothing/*-upper-case",)),
    Fault("auth-reach-head", "Skips the key check for HEAD.", ("AUTH-12",),
          checks=("AUTH-12/no-key-reaches-nothing/models-head",)),
    Fault("auth-reach-method", "Serves POST /v1/models too, without a key check.",
          ("AUTH-12",), checks=("AUTH-12/no-key-reaches-nothing/models-post",)),
    # Which keyless checks share a connection with an accepted request depends on the waves.
    Fault("auth-reach-keepalive", "Trusts a connection once a valid key came on it: later "
          "requests on it need none.", ("AUTH-12",),
          # Any keyless check that reuses such a connection gets in too.
          (*_ids("AUTH-01..AUTH-05"), "AUTH-12/no-key-reaches-nothing/*"),
          checks=("AUTH-12/refused-after-an-accepted-request/*",)),
    # --- http -------------------------------------------------------------------------
    Fault("http-500-malformed-json", "Crashes with a 500 on a body that is not valid JSON.",
          ("HTTP-03", "ERR-01"), (), "smoke",
          checks=("HTTP-03", "ERR-01/no-server-error/*-malformed-json")),
    Fault("http-unknown-path-400", "Answers unknown paths with 400 instead of 404.", ("HTTP-04",),
          checks=("HTTP-04",)),
    Fault("http-500-unknown-path", "Crashes with a 500 on a path it does not serve.",
          ("ERR-01", "HTTP-04"), (), "smoke",
          checks=("ERR-01/no-server-error/unknown-path", "HTTP-04")),
    Fault("http-unknown-path-200", "Answers a path it does not serve with 200 and an error body.",
          ("ERR-02", "HTTP-04"), (), "smoke",
          checks=("ERR-02/no-error-with-200/unknown-path", "HTTP-04")),
    Fault("http-text-errors", "Sends every error as text/plain 'error: ...' instead of JSON.",
          ("HTTP-02",), (),
          checks=("HTTP-02/json-content-type/chat-*", "HTTP-02/json-content-type/images-*",
                  "HTTP-02/json-content-type/models-no-key",
                  "HTTP-02/json-content-type/unknown-path")),
    Fault("http-json-as-text", "Labels every JSON body, answers and errors, text/plain.",
          ("HTTP-02",), checks=("HTTP-02",)),
    Fault("http-reject-non-ascii", "Rejects chat messages containing non-ASCII text with 400.",
          ("HTTP-05",), checks=("HTTP-05",)),
    # --- errors -----------------------------------------------------------------------
    # A model's refusal of a size it does not offer comes back as a 200 without images.
    Fault("err-error-as-200", "Sends validation errors with status 200 and the envelope.",
          ("ERR-02",), ("FUZZ-01", "IMG-02/n-items-for-every-offer/*"), "smoke",
          checks=("ERR-02/no-error-with-200/chat-*", "ERR-02/no-error-with-200/images-*",
                  "*/invalid-request-rejected/*", "SSE-10")),
    Fault("err-500-on-rejection", "Crashes with a 500 wherever it should reject the request "
          "with a 4xx.", ("ERR-01",), ("FUZZ-01",), "smoke",
          checks=("ERR-01/no-server-error/chat-*", "ERR-01/no-server-error/images-*",
                  "*/invalid-request-rejected/*", "SSE-10")),
    Fault("err-no-envelope", "Sends error fields at the top level, without the 'error' wrapper.",
          ("ERR-03",), (), "smoke", checks=("ERR-03",)),
    Fault("err-bare-envelope", "Sends an error object with a message and nothing else.",
          ("ERR-04",), checks=("ERR-04",)),
    Fault("err-422", "Answers invalid parameters with 422 instead of 400.", ("ERR-05",),
          checks=case_checks("ERR-05", "rejection_status", OTHER_CASES)),
    Fault("err-422-unknown-model", "Answers a model that does not exist with 422.", ("ERR-05",),
          checks=case_checks("ERR-05", "rejection_status", UNKNOWN_MODEL_CASES)),
    Fault("err-500-unknown-model", "Crashes with a 500 when the model does not exist.",
          ("CHAT-20", "ERR-01"), (), "smoke",
          checks=("CHAT-20", "IMG-12/invalid-request-rejected/images-unknown-model",
                  "ERR-01/no-server-error/*-unknown-model")),
    # --- models -----------------------------------------------------------------------
    Fault("models-no-pricing", "Lists models without a pricing object.",
          ("MODELS-04",), ("MODELS-05", "MODELS-08", "FUZZ-02"), "smoke", checks=("MODELS-04",)),
    Fault("models-numeric-prices", "Lists prices as JSON numbers instead of decimal strings.",
          ("MODELS-05",), checks=("MODELS-05",)),
    Fault("models-bare-id", "Lists and serves an extra model 'legacy-model' with no provider.",
          ("MODELS-03",), ("MODELS-06", "FUZZ-02"), "smoke", checks=("MODELS-03",)),
    Fault("models-owned-by-mismatch", "Lists owned_by 'apexapi' instead of the provider prefix.",
          ("MODELS-06",), checks=("MODELS-06",)),
    Fault("models-duplicate-ids", "Lists one model twice.", ("MODELS-07",),
          checks=("MODELS-07",)),
    Fault("models-created-string", "Lists created as a string instead of an integer.",
          ("MODELS-02", "FUZZ-02"), (), "smoke",
          checks=("MODELS-02", "FUZZ-02/fuzz-positive/get-models")),
    Fault("models-wrong-list-object", "Answers the model list with object 'models', not 'list'.",
          ("MODELS-01",), ("FUZZ-02",), "smoke", checks=("MODELS-01",)),
    Fault("models-unlisted-images", "Lists only its chat models, while it serves image models.",
          ("MODELS-09",), ("MODELS-08",), "smoke", checks=("MODELS-09/served-models-listed",),
          options=("--image-model=openai/dall-e-2",)),
    # --- chat -------------------------------------------------------------------------
    Fault("chat-not-a-completion", "Answers chat requests with a bare 'output' text, no choices.",
          ("CHAT-01", "CHAT-03"), ("SSE-09", "FUZZ-02"), "smoke",
          checks=("CHAT-01/minimal-request-answered", "CHAT-03/choices-shape",
                  "CHAT-03/every-answer-choices")),
    Fault("chat-model-null", "Reports model null in non-stream completions.", ("CHAT-05",),
          checks=("CHAT-05",)),
    Fault("chat-wrong-object", "Labels completions object 'chat.completions' instead of "
          "'chat.completion'.", ("CHAT-02", "FUZZ-02"), (), "smoke",
          checks=("CHAT-02/completion-identity", "CHAT-02/every-answer-identity",
                  "FUZZ-02/fuzz-positive/post-chat-completions")),
    Fault("chat-user-role", "Returns the reply with message.role 'user'.",
          ("CHAT-03",), ("FUZZ-02",), "smoke",
          checks=("CHAT-03/choices-shape", "CHAT-03/every-answer-choices")),
    Fault("chat-bad-finish-reason", "Reports finish_reason 'done', outside the OpenAI set.",
          ("CHAT-04",), ("CHAT-09", "SSE-07", "FUZZ-02"), "smoke",
          checks=("CHAT-04",)),
    Fault("chat-model-mismatch", "Reports another model id than the one requested.",
          ("CHAT-05",),
          checks=("CHAT-05",)),
    Fault("chat-no-usage", "Leaves usage out of non-stream completions.",
          ("CHAT-06",), ("CHAT-07", "CHAT-08", "CHAT-09", "FUZZ-02"), "smoke",
          checks=("CHAT-06/usage-present", "CHAT-06/every-answer-usage")),
    Fault("chat-wrong-total", "Reports total_tokens one more than prompt plus completion.",
          ("CHAT-07",), (), "smoke",
          checks=("CHAT-07",)),
    Fault("chat-ignore-max-tokens", "Ignores max_tokens and always returns the whole reply.",
          ("CHAT-08",), (), "smoke",
          checks=("CHAT-08",)),
    Fault("chat-stop-on-length", "Says finish_reason 'stop' for replies cut by max_tokens.",
          ("CHAT-09",),
          checks=("CHAT-09",)),
    Fault("chat-reject-temperature-2", "Rejects temperature 2 (treats the bound as exclusive).",
          ("CHAT-10",),
          checks=("CHAT-10/temperature-bounds-accepted/2*",)),
    Fault("chat-accept-temperature-3", "Accepts temperatures up to 3.",
          ("CHAT-12", "FUZZ-01"),
          checks=("CHAT-12/invalid-request-rejected/chat-temperature-2-*",
                  "FUZZ-01/fuzz-negative/post-chat-completions")),
    # Temperatures are checked at the edge and strictly typed (cases.py); each lax path alone.
    # The stop-form checks (CHAT-11) send temperature 0 too.
    Fault("chat-reject-temperature-0", "Rejects temperature 0 (treats the bound as exclusive).",
          ("CHAT-10",), ("CHAT-11",), checks=("CHAT-10/temperature-bounds-accepted/0*",)),
    Fault("chat-temperature-float32", "Checks temperature after a float32 round trip, so "
          "2.0000001 passes as 2.", ("CHAT-12",),
          checks=("CHAT-12/invalid-request-rejected/chat-temperature-2-0000001",)),
    Fault("chat-accept-negative-temperature", "Checks only that |temperature| <= 2.",
          ("CHAT-12",), checks=("CHAT-12/invalid-request-rejected/chat-temperature-0-1",
                                "CHAT-12/invalid-request-rejected/chat-temperature-0-0000001")),
    Fault("chat-coerce-temperature-string", "Reads a numeric string temperature such as '0.5' "
          "as a number.", ("CHAT-12",),
          checks=("CHAT-12/invalid-request-rejected/chat-temperature-string-0-5",)),
    Fault("chat-stream-truthy", "Reads stream by truthiness, so 'true' and 1 stream.",
          ("CHAT-24",), checks=("CHAT-24",)),
    Fault("chat-reject-string-stop", "Rejects stop given as a single string.", ("CHAT-11",),
          checks=("CHAT-11/stop-forms-accepted/string",)),
    Fault("chat-accept-5-stops", "Accepts any number of stop sequences.",
          ("CHAT-16", "FUZZ-01"),
          checks=("CHAT-16/invalid-request-rejected/chat-5-stop-sequences",
                  "FUZZ-01/fuzz-negative/post-chat-completions")),
    Fault("chat-ignore-stop", "Ignores stop sequences, so replies contain them.", ("CHAT-21",),
          checks=("CHAT-21",)),
    Fault("chat-ignore-stop-fixed-reply", "Answers every chat request with one fixed text "
          "and ignores stop.", ("CHAT-21",),
          checks=("CHAT-21/stop-sequence-honoured/string",
                  "CHAT-21/stop-sequence-honoured/array-of-*",
                  "CHAT-21/stop-sequence-honoured/whitespace-string",
                  "CHAT-21/stream-stop-honoured/*")),
    Fault("chat-stop-first-only", "Applies only the first element of a stop array.",
          ("CHAT-21",),
          checks=("CHAT-21/stop-sequence-honoured/array-of-[234]",
                  "CHAT-21/stream-stop-honoured/array")),
    Fault("chat-stop-last-only", "Applies only the last element of a stop array.", ("CHAT-21",),
          checks=("CHAT-21/stop-sequence-honoured/array-of-4-word-first",)),
    Fault("chat-stop-ascii-only", "Ignores stop sequences that contain non-ASCII characters.",
          ("CHAT-21",),
          checks=("CHAT-21/stop-sequence-honoured/non-ascii-string",)),
    Fault("chat-stop-strip", "Strips whitespace from stop sequences, so ' ' stops nothing.",
          ("CHAT-21",),
          checks=("CHAT-21/stop-sequence-honoured/whitespace-string",)),
    Fault("chat-one-stop-only", "Rejects a stop array of more than one sequence with 400.",
          ("CHAT-11",), ("FUZZ-01",),
          checks=("CHAT-11/stop-forms-accepted/array-of-[234]",)),
    Fault("chat-500-stop", "Crashes with a 500 on any request that carries stop.",
          ("CHAT-23", "CHAT-11"), ("FUZZ-01", "FUZZ-02"),
          checks=("CHAT-11", "CHAT-23/valid-input-no-server-error/stop-*")),
    Fault("chat-500-whitespace-stop", "Crashes with a 500 on a whitespace-only stop sequence.",
          ("CHAT-23",), ("FUZZ-01", "FUZZ-02"),
          checks=("CHAT-23/valid-input-no-server-error/stop-whitespace-string",)),
    Fault("chat-500-large-max-tokens", "Crashes with a 500 when max_tokens is above 100000.",
          ("CHAT-23",),
          checks=("CHAT-23/valid-input-no-server-error/max-tokens-*",)),
    Fault("chat-500-non-bmp", "Crashes with a 500 on message text outside the BMP (emoji).",
          ("CHAT-23",), ("FUZZ-01", "FUZZ-02"),
          checks=("CHAT-23/valid-input-no-server-error/non-bmp-*",)),
    Fault("chat-created-float-on-stop", "Sends created as a float timestamp on answers to "
          "requests with stop.", ("CHAT-02",), ("FUZZ-02",),
          checks=("CHAT-02/every-answer-identity",)),
    Fault("chat-length-content-null", "Sends message.content null when the reply was cut by "
          "max_tokens.", ("CHAT-03",), ("FUZZ-02",),
          checks=("CHAT-03/choices-shape", "CHAT-03/every-answer-choices")),
    Fault("chat-no-usage-on-stop", "Leaves usage out of answers to requests with stop.",
          ("CHAT-06",), ("FUZZ-02",),
          checks=("CHAT-06/every-answer-usage",)),
    Fault("chat-wrong-total-on-stop", "Reports total_tokens one too many on answers to requests "
          "with stop.", ("CHAT-07",), ("FUZZ-02",),
          checks=("CHAT-07/every-answer-usage-total",)),
    Fault("chat-accept-top-p-1.5", "Accepts top_p up to 2.", ("CHAT-13",), ("FUZZ-01",),
          checks=("CHAT-13/invalid-request-rejected/chat-top-p-1-5",)),
    Fault("chat-accept-max-tokens-0", "Accepts max_tokens of 0 and below.",
          ("CHAT-14",), ("FUZZ-01", "CHAT-08"),
          checks=("CHAT-14/invalid-request-rejected/chat-max-tokens-0",
                  "CHAT-14/invalid-request-rejected/chat-max-tokens-5")),
    Fault("chat-coerce-max-tokens-string", "Accepts a numeric string max_tokens such as '16'.",
          ("CHAT-15",), (), "full",
          checks=("CHAT-15/invalid-request-rejected/chat-max-tokens-string-*",)),
    Fault("chat-default-model", "Uses openai/gpt-4o-mini when model is missing.",
          ("CHAT-17",), ("FUZZ-01",), "smoke",
          checks=("CHAT-17/invalid-request-rejected/chat-model-missing",)),
    Fault("chat-accept-empty-messages", "Accepts an empty messages array.", ("CHAT-18",),
          ("FUZZ-01",),
          checks=("CHAT-18/invalid-request-rejected/chat-messages-empty",)),
    Fault("chat-accept-bare-model", "Resolves a bare id such as 'gpt-4o' to openai/gpt-4o.",
          ("CHAT-19",), ("FUZZ-01",),
          checks=("CHAT-19/invalid-request-rejected/chat-bare-model-id",)),
    Fault("chat-accept-unknown-model", "Serves unknown chat model ids with a listed model.",
          ("CHAT-20",), ("FUZZ-01",), "smoke",
          checks=("CHAT-20/invalid-request-rejected/chat-unknown-model",)),
    Fault("chat-500-unknown-field", "Crashes with a 500 on an unknown request field.",
          ("CHAT-22",), ("ERR-01", "FUZZ-01"), "full",
          checks=("CHAT-22/unknown-field-tolerated",)),
    # SSE-13 does not apply to a refused (or crashed) stream_options; CHAT-22 judges the 5xx.
    Fault("chat-500-stream-options", "Crashes with a 500 on a request with stream_options.",
          ("CHAT-22",), (), checks=("CHAT-22/stream-options-tolerated",)),
    # --- streaming --------------------------------------------------------------------
    Fault("sse-stream-ignored", "Answers stream: true with a plain JSON completion.",
          ("SSE-02",), _ids("SSE-03..SSE-14"), "smoke", ("SSE-02/event-stream-content-type",)),
    Fault("sse-stream-default", "Streams Server-Sent Events when stream is omitted.",
          ("SSE-01",), _ids("CHAT-01..CHAT-11", "CHAT-21", "CHAT-22", "HTTP-02", "HTTP-05",
                            "SSE-09", "FUZZ-02"), "smoke",
          ("SSE-01/no-stream-gives-json/omitted",)),
    Fault("sse-stream-false-streams", "Streams Server-Sent Events for stream: false too.",
          ("SSE-01",), checks=("SSE-01/no-stream-gives-json/false",)),
    Fault("sse-wrong-content-type", "Sends the event stream as text/plain.",
          ("SSE-02",), _ids("SSE-03..SSE-14", "FUZZ-02"), "smoke",
          ("SSE-02/event-stream-content-type",)),
    Fault("sse-not-json", "Sends chunk data as Python reprs instead of JSON.",
          ("SSE-03",), _ids("SSE-05..SSE-09", "SSE-11", "SSE-13", "SSE-14"), "smoke",
          ("SSE-03/framing-and-json-events",)),
    Fault("sse-no-blank-line", "Ends events with one newline, so no event is ever dispatched.",
          ("SSE-03",), _ids("SSE-05..SSE-09", "SSE-11", "SSE-13", "SSE-14"), "smoke",
          ("SSE-03/framing-and-json-events",)),
    Fault("sse-stall", "Sends the role chunk, then nothing, holding the stream open for 120 s.",
          ("SSE-04",), _ids("SSE-05..SSE-09", "SSE-11", "SSE-13", "SSE-14"), "standard",
          ("SSE-04/stream-does-not-stall",)),
    Fault("sse-changing-id", "Gives every chunk of a stream a new id.", ("SSE-05",), (), "smoke",
          ("SSE-05/chunk-ids-agree",)),
    Fault("sse-finish-chunk-id", "Gives the finish_reason chunk another id than the others.",
          ("SSE-05",), (), "smoke", ("SSE-05/chunk-ids-agree",)),
    Fault("sse-chunk-object", "Labels stream chunks object 'chat.completion'.", ("SSE-05",), (),
          "smoke", ("SSE-05/chunk-object",)),
    Fault("sse-no-role", "Leaves delta.role out of the first chunk.", ("SSE-06",), (),
          "standard", ("SSE-06/role-first",)),
    Fault("sse-two-finish-reasons", "Sends the finish_reason chunk twice.", ("SSE-07",), (),
          "standard", ("SSE-07/one-finish-reason",)),
    Fault("sse-late-delta", "Sends the last content delta after the finish_reason chunk.",
          ("SSE-07",), (), "standard", ("SSE-07/no-content-after-finish",)),
    Fault("sse-no-done", "Ends the stream without data: [DONE].", ("SSE-08",), (), "smoke",
          ("SSE-08/done-sent",)),
    Fault("sse-early-done", "Sends data: [DONE] before the finish_reason and usage chunks.",
          ("SSE-08",), (), "smoke", ("SSE-08/nothing-after-done",)),
    Fault("sse-empty-content", "Streams deltas whose content is always empty.", ("SSE-09",),
          ("SSE-14",), "standard", ("SSE-09/streamed-text-like-reply",)),
    Fault("sse-error-as-stream", "Answers an invalid streamed request with a 400 event stream.",
          ("SSE-10",), (), "standard", ("SSE-10/invalid-stream-request-gets-json",)),
    Fault("sse-error-event", "Breaks off a 200 stream after two deltas with an error event.",
          ("SSE-12",), ("SSE-07",), "smoke", ("SSE-12/no-error-event",)),
    Fault("sse-repeated-delta", "Sends the third content delta of a stream twice.",
          ("SSE-14",), (), "standard", ("SSE-14/deltas-not-repeated-or-dropped",)),
    Fault("sse-dropped-delta", "Never sends the third content delta of a stream.", ("SSE-14",),
          (), "standard", ("SSE-14/deltas-not-repeated-or-dropped",)),
    Fault("sse-usage-strings", "Sends the stream's usage counts as strings.", ("CHAT-06",), (),
          "smoke", ("CHAT-06/stream-usage-fields",)),
    Fault("sse-usage-total", "Reports a stream's total_tokens one more than prompt plus "
          "completion.", ("CHAT-07",), (), "smoke", ("CHAT-07/stream-usage-total",)),
    Fault("sse-ignore-max-tokens", "Ignores max_tokens in streams (the JSON answer keeps it).",
          ("CHAT-08",), (), "smoke", ("CHAT-08/stream-max-tokens-honoured",)),
    Fault("sse-ignore-stop", "Ignores stop in streams (the JSON answer keeps it).",
          ("CHAT-21",), (), "standard", ("CHAT-21/stream-stop-honoured/*",)),
    Fault("sse-stop-per-chunk", "Looks for stop sequences in each streamed delta alone, so one "
          "split across two deltas is sent.", ("CHAT-21",), (), "standard",
          ("CHAT-21/stream-stop-honoured/*",)),
    Fault("sse-stop-first-only", "Applies only the first element of a stop array in streams.",
          ("CHAT-21",), (), "standard", ("CHAT-21/stream-stop-honoured/array",)),
    # --- one route of a gateway (invisible to the default run, which judges the cheapest) ---
    Fault("routes-one-ignores-stop", "Routes three more providers' models, and the adapter of "
          "anthropic/claude-3-haiku drops stop, so only that model's replies contain it.",
          ("CHAT-21",), (), "standard",
          ("CHAT-21/stop-sequence-honoured/*", "CHAT-21/stream-stop-honoured/*"),
          options=("--models=all",)),
    # --- images -----------------------------------------------------------------------
    Fault("img-fewer-than-n", "Returns n-1 images when n > 1.", ("IMG-02",), (), "smoke",
          checks=("IMG-02/exactly-n-items/as-requested", "IMG-02/every-image-answer-count")),
    Fault("img-fewer-above-2", "Returns n-1 images when n > 2.", ("IMG-02",), (), "full",
          ("IMG-02/exactly-n-items/n-3",)),
    # One size or quality answered wrong when a request names it (its own code path).
    *(Fault(f"img-empty-for-{value}", f"Answers requests naming {kind} {value} with an empty "
            "data array.", ("IMG-02",), _OFFER_ALSO.get(value, ()), "full",
            (f"IMG-02/n-items-for-every-offer/{kind}-{value}",))
      for kind, value in _OFFERS),
    *(Fault(f"img-no-image-for-{value}", f"Answers requests naming {kind} {value} with items "
            "that carry no url or b64_json.", ("IMG-03",), _OFFER_ALSO.get(value, ()), "full",
            (f"IMG-03/image-for-every-offer/{kind}-{value}",))
      for kind, value in _OFFERS),
    Fault("img-no-url", "Returns items with revised_prompt only, no url or b64_json.",
          ("IMG-03",), ("IMG-04", "IMG-05", "FUZZ-02"), "smoke",
          checks=("IMG-03/items-have-image",)),
    Fault("img-no-endpoint", "Lists image models but has no POST /v1/images/generations route.",
          ("IMG-01",), _ids("IMG-06", "IMG-07"), "smoke",
          checks=("IMG-01/generation-answered",)),
    Fault("img-broken-url", "Returns image URLs that answer 404.", ("IMG-04",), ("IMG-05",),
          "smoke", checks=("IMG-04",)),
    # A redirect a client follows is no fault (variant-image-redirect); where it leads can be.
    Fault("img-redirect-404", "Redirects every image URL, through a CDN, to one that answers "
          "404.", ("IMG-04",), ("IMG-05",), "smoke", checks=("IMG-04",)),
    Fault("img-redirect-not-image", "Redirects every image URL to a 200 HTML sign-in page.",
          ("IMG-04",), ("IMG-05",), "smoke", checks=("IMG-04",)),
    Fault("img-redirect-loop", "Redirects every image URL in a loop back to itself.",
          ("IMG-04",), ("IMG-05",), "smoke", checks=("IMG-04",)),
    Fault("img-data-url-not-image", "Returns data: URLs whose bytes are no image.",
          ("IMG-04",), ("IMG-05",), "smoke", checks=("IMG-04",)),
    Fault("img-redirect-too-many", "Redirects every image URL six times before the bytes.",
          ("IMG-04",), ("IMG-05",), "smoke", checks=("IMG-04",)),
    Fault("img-wrong-size", "Serves every image at half the requested width and height.",
          ("IMG-05",), checks=("IMG-05",)),
    Fault("img-reject-1792", "Rejects size 1792x1024 on every model.", ("IMG-06",), (), "full",
          checks=("IMG-06/every-size-offered/1792x1024",)),
    Fault("img-reject-hd", "Rejects quality hd on every model.", ("IMG-07",), (), "full",
          checks=("IMG-07/every-quality-offered/hd",)),
    *(Fault(f"img-reject-{size}", f"Rejects size {size} on every model.", ("IMG-06",), (),
            "full", checks=(f"IMG-06/every-size-offered/{size}",))
      for size in ("256x256", "512x512", "1024x1792")),
    # 1024x1024 is the default size: the quality checks, which name no size, are refused too.
    Fault("img-reject-1024x1024", "Rejects size 1024x1024 on every model.", ("IMG-06",),
          ("IMG-07",), "full", checks=("IMG-06/every-size-offered/1024x1024",)),
    Fault("img-reject-standard-quality", "Rejects quality standard when it is named.",
          ("IMG-07",), (), "full", checks=("IMG-07/every-quality-offered/standard",)),
    Fault("img-two-when-n-omitted", "Makes two images when n is omitted (a default of 2).",
          ("IMG-02",), (), "full", checks=("IMG-02/exactly-n-items/n-omitted",)),
    Fault("img-accept-any-size", "Accepts any size string.", ("IMG-08", "FUZZ-01"),
          checks=("IMG-08/invalid-request-rejected/images-size-*",
                  "FUZZ-01/fuzz-negative/post-images-generations")),
    Fault("img-size-any-documented-edges", "Checks each edge of size against the documented "
          "ones, not the pair, so 1792x1792 passes.", ("IMG-08",),
          checks=("IMG-08/invalid-request-rejected/images-size-1792x1792",
                  "IMG-08/invalid-request-rejected/images-size-256x1024")),
    Fault("img-accept-unknown-quality", "Accepts any quality string.", ("IMG-09",),
          ("FUZZ-01",), checks=("IMG-09/invalid-request-rejected/*",
                                *(f"IMG-09/invalid-value-rejected/*-{how}" for how in
                                  ("upper-cased", "trailing-space", "leading-space")))),
    Fault("img-accept-n-0", "Accepts n of 0 and below, returning no images.", ("IMG-10",),
          ("FUZZ-01", "IMG-02"),
          checks=("IMG-10/invalid-request-rejected/images-n-0",
                  "IMG-10/invalid-request-rejected/images-n-1")),
    Fault("img-accept-missing-prompt", "Accepts image requests without a prompt.",
          ("IMG-11",), ("FUZZ-01",), "smoke",
          checks=("IMG-11/invalid-request-rejected/images-prompt-missing",)),
    Fault("img-accept-unknown-model", "Serves unknown image model ids with a listed model.",
          ("IMG-12",), ("FUZZ-01",),
          checks=("IMG-12/invalid-request-rejected/images-unknown-model",)),
    Fault("img-coerce-n-string", "Accepts a numeric string n such as '1'.", ("IMG-13",), (),
          "full", checks=("IMG-13",)),
    # Valid image requests are fuzzed in full only (each is paid).
    Fault("img-no-created", "Leaves created out of image responses.", ("IMG-01", "FUZZ-02"), (),
          "full", checks=("IMG-01", "FUZZ-02/fuzz-positive/post-images-generations")),
)  # fmt: skip

# One generated fault per invalid-request case: it accepts exactly that request; and one per
# case of the contract families (mutants.py): it accepts, refuses or crashes on exactly it.
_GENERATED = tuple(
    Fault(name, description, breaks, profile=profile, checks=checks, scope=scope)
    for name, description, breaks, profile, checks, scope in (*case_fault_specs(), *mutant_specs())
)
# The contract's families (contract/families.py) catch these hand-written faults too, one
# step beside the examples they were written for: the further checks each must fail.
_EVERY_STOP = ("CHAT-21/every-answer-without-stop",)
_VALID = "CHAT-26/valid-value-accepted/"
_INVALID_TEMPERATURE = "CHAT-12/invalid-value-rejected/chat-temperature-"
_ALSO_CAUGHT: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("chat-ignore-stop-fixed-reply", "sse-ignore-stop", "sse-stop-per-chunk",
         "sse-stop-first-only", "routes-one-ignores-stop", "chat-stop-first-only",
         "chat-stop-last-only", "chat-stop-ascii-only", "chat-stop-strip"),
        _EVERY_STOP,
    ),
    "sse-ignore-max-tokens": ("CHAT-08/every-answer-within-max-tokens",),
    "sse-usage-total": ("CHAT-07/every-stream-usage-total",),
    # Each counts the images of every image answer too (test_invariants.py).
    **dict.fromkeys(
        ("img-fewer-above-2", "img-two-when-n-omitted",
         *(f"img-empty-for-{value}" for _, value in _OFFERS)),
        ("IMG-02/every-image-answer-count",),
    ),
    "err-error-as-200": ("*/invalid-value-rejected/*",),
    "err-500-on-rejection": ("*/invalid-value-rejected/*",),
    "chat-accept-temperature-3": (
        f"{_INVALID_TEMPERATURE}2-1", f"{_INVALID_TEMPERATURE}just-above-2"
    ),
    "chat-temperature-float32": (f"{_INVALID_TEMPERATURE}just-above-2",),
    "chat-accept-negative-temperature": (f"{_INVALID_TEMPERATURE}0-0-001",),
    "chat-coerce-temperature-string": (f"{_INVALID_TEMPERATURE}*-as-a-string-*",),
    "chat-accept-5-stops": ("CHAT-16/invalid-value-rejected/chat-stop-array-of-5",),
    # Any size string: the near misses, not the other JSON types.
    "img-accept-any-size": tuple(
        f"IMG-08/invalid-value-rejected/images-size-*-{how}"
        for how in ("upper-cased", "trailing-space", "leading-space", "zero-padded-width", "unit")
    ),
    "chat-reject-temperature-2": (f"{_VALID}chat-temperature-2", f"{_VALID}*-temperature-2-*"),
    "chat-reject-temperature-0": (
        f"{_VALID}chat-temperature-0", f"{_VALID}*-temperature-0-stream-*"
    ),
    "chat-reject-string-stop": (f"{_VALID}*stop-string",),
    "chat-one-stop-only": (f"{_VALID}*stop-array-of-[234]",),
    "chat-500-stop": (f"{_VALID}*stop-*",),
    "chat-500-whitespace-stop": (f"{_VALID}*stop-string",),
}  # fmt: skip
# A model's refusal of a size it does not make turns into a crash there too.
_ALSO_ALLOWED = {"err-500-on-rejection": ("IMG-14",)}
FAULTS: dict[str, Fault] = {
    fault.name: replace(
        fault,
        checks=(*fault.checks, *_ALSO_CAUGHT.get(fault.name, ())),
        may_also_break=(*fault.may_also_break, *_ALSO_ALLOWED.get(fault.name, ())),
    )
    for fault in (*_FAULT_LIST, *_GENERATED)
}

# Conforming but awkward servers: the suite must pass them with no failure or warning.
VARIANTS: dict[str, str] = {
    "variant-freedoms": (
        "Uses every freedom of interpretation section 4 at once: extra fields, gen- ids, "
        "charset parameters, SSE comments, CRLF, data: without space, id:/event:/retry: "
        "fields, split writes, an unasked usage chunk, 400 for an unknown model, integer "
        "error codes and extra pricing keys."
    ),
    "variant-slow": "Delays every response by 2 seconds (without blocking the server).",
    "variant-no-usage-chunk": (
        "Ignores stream_options.include_usage, a field the document does not define: "
        "its streams carry no usage chunk."
    ),
    "variant-slow-first-byte": (
        "Sends the headers of every answered POST at once and its first body byte 1 second "
        "later (time to first token); rejections answer at once."
    ),
    "variant-429": (
        "Refuses one request in 23 with a 429 that carries no Retry-After (the client waits "
        "1 s and retries)."
    ),
    "variant-nulls": (
        "Sends every optional field it leaves out as null, as OpenAI and vLLM do: b64_json, "
        "revised_prompt, logprobs, system_fingerprint, usage on stream chunks, delta role and "
        "content, error param and code, an image price."
    ),
    "variant-extras": (
        "Adds undocumented headers (request ids, rate-limit counters, Set-Cookie, ...) to every "
        "answer and an undocumented field to every JSON object, stream chunks included."
    ),
    "variant-framework-errors": (
        "Sends FastAPI/LiteLLM/vLLM-style errors: the OpenAI envelope with a pydantic 'detail' "
        "list, the status as a string code, vLLM's type names and 'object': 'error' beside it."
    ),
    "variant-close-errors": "Closes the connection (Connection: close) after every error answer.",
    "variant-501-methods": (
        "Answers PUT, DELETE, PATCH and OPTIONS with 405 without Allow, and any other method "
        "but GET, HEAD and POST with 501, as nginx does."
    ),
    "variant-gzip": (
        "Compresses every answer, event streams and images included, with Starlette's "
        "GZipMiddleware (minimum size 0) when the client accepts gzip."
    ),
    "variant-sse-bytes": "Writes every byte of an event stream on its own.",
    "variant-sse-multiline": (
        "Spreads the JSON of every stream chunk over several data: lines (indented JSON)."
    ),
    "variant-keepalive": (
        "Sends OpenRouter-style comments while generating: comment blocks before the first "
        "chunk and between chunks, comment lines glued on the first event."
    ),
    "variant-b64-images": (
        "Returns every image inline as b64_json (never a URL), encoded as a GIF."
    ),
    "variant-big-models": (
        "Lists 348 more priced models (OpenRouter-like, some cheaper than the reference ones, "
        "vision chat models with an image price) and serves every one of them."
    ),
    "variant-routes": (
        "Lists and routes three more providers' chat models (anthropic/, mistral/, meta/), "
        "all dearer than the cheapest reference model, answering under the requested id."
    ),
    "variant-strict-fields": (
        "Refuses every request field the document does not define (stream_options, user, "
        "a message's name, ...), a role other than system, user and assistant and content "
        "that is not a string, with a 400 in the OpenAI envelope; null still means not given."
    ),
    "variant-data-url-images": (
        "Returns every image inline as a data: URL (data:image/png;base64,...) in url."
    ),
    "variant-image-redirect": (
        "Answers every image URL with one or two redirects (302, 301, 303, 307, 308 in turn; "
        "absolute URLs, absolute paths and relative paths) to the bytes elsewhere on the server."
    ),
}


def check_names(names: Iterable[str]) -> Faults:
    """The given fault and variant names as a set; ValueError names any unknown one."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys() - VARIANTS.keys())
    if unknown:
        raise ValueError(f"unknown fault name(s): {', '.join(unknown)}")
    return chosen
