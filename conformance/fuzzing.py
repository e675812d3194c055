"""The schemathesis fuzz test's machinery: config, example counts, request shaping, checks.

The fuzz test (contract/test_fuzz.py) generates requests from openapi/apexapi.yaml. This
module keeps those requests cheap and the verdicts true to the requirement levels:

- chat requests never ask for more than 16 tokens, positive image requests for one image;
- generated model ids are replaced by the run's real models, or every request would just
  get "unknown model" and prove nothing;
- invalid requests are judged only for what a MUST backs (`x-apex-should` keywords and
  lax "16"-for-16 coercion are SHOULD, checked elsewhere);
- response bodies are judged only on success: error envelopes and content types of
  errors are SHOULD (ERR-03, HTTP-02) and streams are the SSE checks' job;
- schemathesis' request-shape probes (methods and media types the description does not
  declare) are never sent: see `worth_sending`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol

import hypothesis
import pytest
import requests
import schemathesis
from _pytest.python import pytest_pyfunc_call as default_pyfunc_call
from hypothesis import Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.generation.hypothesis.builder import ApiOperationMark
from schemathesis.generation.meta import (
    REQUEST_SHAPE_PROBES,
    CoveragePhaseData,
    CoverageScenario,
    FuzzingPhaseData,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import SameHostRedirectsSession

from conformance.config.settings import Settings
from conformance.session.state import STATE
from conformance.spec import payloads, schemas
from conformance.transport.client import CouldNotJudge, admit
from conformance.transport.dispatch import Dispatcher
from conformance.transport.exchange import CONFIGURED_KEY, Exchange, StreamExchange
from conformance.transport.inflight import InFlight
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.transport.redact import redact_headers
from conformance.transport.sse import read_events
from conformance.vocabulary import Profile

CHAT = "POST /chat/completions"
IMAGES = "POST /images/generations"
# Positive chat bodies are cut to this many messages of this many characters: prompt tokens
# cost money too, and Hypothesis likes long strings.
MAX_MESSAGES = 4
MAX_CONTENT = 200
ROLES = ("system", "user", "assistant")
# The request body schema of each operation, by label.
REQUEST_COMPONENT = {CHAT: "ChatCompletionRequest", IMAGES: "ImageRequest"}
# Integer fields whose "16"-for-16 coercion is a SHOULD failure, not a MUST (interpretation 3).
LAX_INTEGER_FIELDS = {CHAT: ("max_tokens",), IMAGES: ("n",)}
_NUMERIC = re.compile(r"^\s*[-+]?\d+(\.0*)?\s*$")
# schemathesis filters keys containing these words from reproductions. Its default list has
# "token", which hides `max_tokens` (research: pitfall 4); Authorization stays filtered as an
# exact key and through "auth".
SANITIZED_MARKERS = ["key", "secret", "password", "passwd", "auth", "session", "credential"]
# Where Hypothesis keeps a test's settings (schemathesis sets it the same way).
_SETTINGS_ATTRIBUTE = "_hypothesis_internal_use_settings"
_ORIGINAL_SETTINGS = "_apex_original_settings"

AnyCase = schemathesis.Case[Any]

# --- How much to generate --------------------------------------------------------------
Coverage = Literal["none", "sampled", "all"]


@dataclass(frozen=True)
class Plan:
    """What one profile generates per operation (coverage cases come on top of the counts)."""

    negative: int
    positive_chat: int
    positive_images: int
    # The coverage phase sends each documented bound just broken (temperature 3 and -1,
    # five stop sequences, n 0, a size not in the list, ...) plus each wrong JSON type:
    # the cheapest way to hit every MUST. "sampled" keeps every bound and about one in
    # TYPE_SAMPLE wrong-type cases.
    coverage: Coverage

    def examples_for(self, label: str, negative: bool) -> int:
        if negative:
            return self.negative if label in REQUEST_COMPONENT else 1
        if label == IMAGES:
            return self.positive_images
        if label == CHAT:
            return self.positive_chat
        return 1  # GET /models takes no input: one request says all there is to say


PLANS: dict[Profile, Plan] = {
    "smoke": Plan(negative=3, positive_chat=2, positive_images=1, coverage="none"),
    # Standard makes no image by fuzzing: the targeted checks already judge one paid answer.
    "standard": Plan(negative=8, positive_chat=8, positive_images=0, coverage="sampled"),
    "full": Plan(negative=100, positive_chat=50, positive_images=5, coverage="all"),
}
TYPE_SAMPLE = 4
# One generated (so almost surely unknown) model id is kept in this many fuzzing cases.
UNKNOWN_MODEL_SHARE = 4


def config(*, negative: bool) -> schemathesis.Config:
    """The schemathesis config of one of the two fuzz tests.

    Counts and seed depend on the run's options, which are not known when the test module
    is imported; `tune` applies them when pytest builds the items.
    """
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "negative" if negative else "positive",
                "database": "none",
                # Auth has its own checks (AUTH-*); the fuzz test always sends the real key.
                "with-security-parameters": False,
            },
            "phases": {
                # Positive boundary cases (every size, temperature 0 and 2, ...) would cost
                # tokens and images; the targeted checks cover those bounds one by one.
                "coverage": {"enabled": negative},
                # The document's request examples are valid requests: positive test only.
                "examples": {"enabled": not negative},
                "stateful": {"enabled": False},
            },
            # GET /models has no input to break: the invalid-input test sends it once, valid
            # ("valid and invalid requests never yield a 5xx").
            "operations": [
                {"include-operation-id": "listModels", "generation": {"mode": "positive"}}
            ],
            "output": {"sanitization": {"sensitive-markers": SANITIZED_MARKERS}},
        }
    )


def worth_sending(case: AnyCase, plan: Plan, seed: int) -> bool:
    """Whether the profile sends this generated case (a pure function: replays agree)."""
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
    if plan.coverage == "all":
        return True
    if plan.coverage == "none":
        return False
    if not must_violations(case.operation.label, case.body):
        return False  # breaks a SHOULD only (top_p 2, prompt ""): no MUST verdict to win
    if scenario is CoverageScenario.INCORRECT_TYPE:
        return _pick(seed, case.body, TYPE_SAMPLE)
    return True


def tune(metafunc: pytest.Metafunc, *, negative: bool) -> None:
    """Give one operation's Hypothesis test the run's seed and the profile's example count.

    Called from the test module's `pytest_generate_tests`, which schemathesis runs for each
    operation right after it built the test: the run's settings exist by then.
    """
    _load_every_suite_module()
    state = metafunc.config.stash.get(STATE, None)
    profile: Profile = state.settings.profile if state is not None else "standard"
    seed = state.settings.seed if state is not None else 0
    plan = PLANS[profile]
    test = metafunc.function
    operation = ApiOperationMark.get(test)
    label = operation.label if operation is not None else CHAT
    # Start from the settings schemathesis gave the test, not from an earlier run's tuning:
    # the module (and so this function object) outlives a session when pytest runs in-process.
    if not hasattr(test, _ORIGINAL_SETTINGS):
        setattr(test, _ORIGINAL_SETTINGS, getattr(test, _SETTINGS_ATTRIBUTE, None))
    current = getattr(test, _ORIGINAL_SETTINGS) or hypothesis.settings()
    dropped = set()
    if negative and plan.coverage == "none":
        dropped.add(Phase.explicit)  # it carries the coverage cases (and schema examples)
    if not negative:
        # Every shrinking step of a valid request is another paid completion or image; the
        # failing case itself is reported either way.
        dropped.add(Phase.shrink)
    phases = tuple(phase for phase in current.phases if phase not in dropped)
    tuned = hypothesis.settings(
        current,
        max_examples=max(1, plan.examples_for(label, negative)),
        database=None,
        derandomize=False,
        phases=phases,
    )
    # Set the way schemathesis itself does (`@settings` refuses a test that already has
    # settings, and pytest may offer the same test twice).
    setattr(test, _SETTINGS_ATTRIBUTE, tuned)
    hypothesis.seed(seed)(test)


@cache
def _load_every_suite_module() -> None:
    """Import all of the suite before Hypothesis generates anything.

    Hypothesis mixes into its data the constants of every "local" module loaded so far
    (hypothesis.internal.conjecture.providers), and an editable install makes the suite
    local: a module first imported mid-run (the reports, at the end of it) would change
    what the same seed generates in the next run of the process, and between the planning
    and the judging run of the fuzz cases (conformance.session.planning).
    """
    import conformance

    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if ".contract." not in module.name + ".":  # test modules: pytest imports those
            importlib.import_module(module.name)


# --- Shaping the requests ---------------------------------------------------------------
class ModelChoice(Protocol):
    """The run's chosen models and the listing (conformance.session.model_choice.Models)."""

    @property
    def chat(self) -> str | None: ...

    @property
    def image(self) -> str | None: ...

    @property
    def listing(self) -> list[dict[str, Any]]: ...


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
    if model is not None and _is_model_id(shaped.get("model")) and not keep_model:
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


def _is_model_id(value: object) -> bool:
    return isinstance(value, str) and schemas.model_id_pattern().match(value) is not None


# --- Checks -----------------------------------------------------------------------------
CheckFunction = Callable[[schemathesis.CheckContext, schemathesis.Response, AnyCase], Any]


def must_violations(label: str, body: Any, known_models: frozenset[str] = frozenset()) -> list[str]:
    """Why the document (MUST level) makes this request body invalid; empty when it does not.

    With `known_models` (the listed ids), a well-formed id that is not listed is invalid
    too: "a model that does not exist" must be rejected (interpretation 3).
    """
    component = REQUEST_COMPONENT.get(label)
    if component is None:
        return []
    model = body.get("model") if isinstance(body, dict) else None
    if known_models and _is_model_id(model) and model not in known_models:
        return [f"$.model: {model!r} is not a listed model"]
    instance = None if isinstance(body, NotSet) else body
    if isinstance(instance, dict):
        # In the OpenAI format an optional parameter set to null means "not given" (its
        # schema marks them nullable); only a null required field is wrong.
        required = _required(component)
        instance = {k: v for k, v in instance.items() if v is not None or k in required}
    problems = schemas.validate(component, instance, must_only=True)
    if problems and isinstance(instance, dict):
        # "16" accepted as 16 is a SHOULD failure (CHAT-15, IMG-13): judge the body as if
        # the numeric strings in integer fields were numbers.
        lax = {
            key: int(float(value))
            if key in LAX_INTEGER_FIELDS[label] and isinstance(value, str) and _NUMERIC.match(value)
            else value
            for key, value in instance.items()
        }
        if lax != instance and not schemas.validate(component, lax, must_only=True):
            return []
    return problems


@cache
def _required(component: str) -> frozenset[str]:
    return frozenset(schemas.spec()["components"]["schemas"][component].get("required", ()))


def rejection_check(known_models: frozenset[str]) -> CheckFunction:
    """The FUZZ-01 check: a request the document makes invalid is rejected with a 4xx.

    It replaces schemathesis' negative_data_rejection, which would also demand rejection
    of what only a SHOULD backs (top_p above 1, an empty messages array, "16" for 16),
    and which cannot know which model ids exist. A 5xx is not_a_server_error's to report.
    """

    def must_reject_invalid(
        ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
    ) -> bool | None:
        if response.status_code >= 400:
            return None
        problems = must_violations(case.operation.label, case.body, known_models)
        if not problems:
            return None
        raise AssertionError(
            f"Invalid request accepted with {response.status_code}: expected a 4xx.\n"
            "Invalid by the document: " + "; ".join(problems)
        )

    return must_reject_invalid


def success_content_type(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """content_type_conformance on 2xx only: the media type of errors is HTTP-02, a SHOULD."""
    if not 200 <= response.status_code < 300:
        return None
    result: bool | None = content_type_conformance(ctx, response, case)
    return result


def success_body_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """response_schema_conformance on 2xx JSON only.

    Error envelopes are ERR-03/ERR-04 (SHOULD). Event streams are left to the suite's own
    SSE reader (SSE-*): it follows WHATWG to the letter (CR line ends, comments, `data:`
    without a space, a usage chunk before [DONE]) and levels each chunk rule on its own,
    where one schema verdict here would be MUST for SHOULD-level chunk fields.
    """
    if not 200 <= response.status_code < 300 or _media_type(response) == "text/event-stream":
        return None
    result: bool | None = response_schema_conformance(ctx, response, case)
    return result


POSITIVE_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    success_content_type,
    success_body_schema,
]


def _media_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";", 1)[0].strip().lower()


# --- Sending --------------------------------------------------------------------------
@dataclass
class FuzzPlan:
    """The cases one fuzz test generated, in their order, and whether that test ran to its
    end (then they are all it generates with this seed until one fails)."""

    cases: list[tuple[AnyCase, str, bool]] = field(default_factory=list)
    complete: bool = False


@dataclass
class Fuzzer:
    """Sends generated cases to the target within the run's budget, rate and spend."""

    settings: Settings
    models: ModelChoice
    # The run's shared counters and limits (RunState), so fuzzing spends from the same budget.
    spend: Spend
    budget: Budget
    limiter: RateLimiter
    touched: list[Exchange] | None = None
    # The client's dispatcher: fuzz cases go out in the same waves, within the same limits.
    dispatch: Dispatcher = field(default_factory=lambda: Dispatcher(1))
    # The client's requests in flight, so fuzz cases count against the same adaptive limit.
    inflight: InFlight = field(default_factory=lambda: InFlight(1))
    # Where one fuzz test notes the cases it generates (set while they are collected).
    recording: FuzzPlan | None = None
    plan: Plan = field(init=False)
    negative_checks: list[CheckFunction] = field(init=False)
    # Answers by request, so a case Hypothesis generates twice is paid for once.
    _answers: dict[str, schemathesis.Response] = field(init=False, default_factory=dict)
    _failures: dict[str, CouldNotJudge] = field(init=False, default_factory=dict)
    # One keep-alive session per sending thread (a requests.Session is not thread-safe).
    _sessions: threading.local = field(init=False, default_factory=threading.local)
    _opened: list[requests.Session] = field(init=False, default_factory=list)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.plan = PLANS[self.settings.profile]
        listed = {str(entry["id"]) for entry in self.models.listing if "id" in entry}
        # A model named by --chat-model/--image-model exists even when the listing omits it.
        chosen = {model for model in (self.models.chat, self.models.image) if model}
        known = frozenset(listed | chosen) if listed else frozenset()
        self.negative_checks = [not_a_server_error, rejection_check(known)]

    def run(self, case: AnyCase, *, negative: bool) -> None:
        """Shape the case, send it, account for it, and run the checks of its test.

        While the test's cases are being collected (`recording`), the case is only sent
        and noted: it is judged later, from the notes (`replay_planned`).
        """
        self._shape(case, negative)
        if not worth_sending(case, self.plan, self.settings.seed):
            return
        key = _request_key(case)
        if self.recording is None:
            self._judge(case, key, negative)
            return
        self.recording.cases.append((case, key, negative))
        if key in self._answers:
            return
        if self.dispatch.planning:
            self.dispatch.prefetch(key, self._sender(key, case))
            return
        try:
            self._answers[key] = self.dispatch.obtain(key, self._sender(key, case))
        except CouldNotJudge as exc:
            self._failures[key] = exc  # met when the case is judged, as a planned one's

    def replay_planned(self, recorded: FuzzPlan) -> bool:
        """Judge the cases a planned run of this test generated, in their order; False at
        the first that does not pass (Hypothesis then runs the test for real, and shrinks
        it as in a run without planning)."""
        for case, key, negative in recorded.cases:
            try:
                self._judge(case, key, negative)
            except Exception:
                return False
        return True

    def _shape(self, case: AnyCase, negative: bool) -> None:
        label = case.operation.label
        if label in REQUEST_COMPONENT:
            # One fuzzing case in UNKNOWN_MODEL_SHARE keeps its generated model id: an
            # unknown model must be rejected too, and must not crash the server.
            keep = _is_fuzzing(case) and _pick(self.settings.seed, case.body, UNKNOWN_MODEL_SHARE)
            # A new object (not an in-place edit) so schemathesis re-derives whether the
            # case is still negative.
            case.body = shape_body(
                label, case.body, self.models, negative=negative, keep_model=keep
            )

    def _sender(self, key: str, case: AnyCase) -> Callable[[], schemathesis.Response]:
        headers = {"Authorization": f"Bearer {self.settings.api_key}"}
        return lambda: self._send(key, case, headers, self._timeout(case))

    def _judge(self, case: AnyCase, key: str, negative: bool) -> None:
        if key in self._failures:
            raise self._failures.pop(key)
        response = self._answers.get(key)
        if response is None:
            response = self.dispatch.obtain(key, self._sender(key, case))
            self._answers[key] = response  # sent ahead, by the fuzzer of the planning run
        if self.touched is not None:
            # The plugin attaches the last exchanges of a failed check to its report; keep
            # the list short, the final Hypothesis replay is the one that matters.
            self.touched.append(as_exchange(response))
            del self.touched[:-3]
        headers = {"Authorization": f"Bearer {self.settings.api_key}"}
        case.validate_response(
            response,
            checks=self.negative_checks if negative else POSITIVE_CHECKS,
            headers=headers,
            transport_kwargs={
                "base_url": self.settings.base_url,
                "headers": headers,
                "timeout": self._timeout(case),
            },
        )

    def _send(
        self, key: str, case: AnyCase, headers: dict[str, str], timeout: tuple[float, float]
    ) -> schemathesis.Response:
        with self.inflight.slot():
            return self._call(key, case, headers, timeout)

    def _call(
        self, key: str, case: AnyCase, headers: dict[str, str], timeout: tuple[float, float]
    ) -> schemathesis.Response:
        admit(self.budget, self.limiter, self.spend)
        try:
            response = case.call(
                base_url=self.settings.base_url,
                session=self._session(),
                headers=headers,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            # No answer to judge (interpretation 2: an error, not a target failure).
            raise CouldNotJudge(
                f"connection: {case.method} {case.operation.path} got no answer within "
                f"{timeout[1]:g} s ({type(exc).__name__})"
            ) from exc
        answered = as_exchange(response)
        self.budget.cost.charge(answered.requested_model, self.spend.observe(answered))
        self._answers[key] = response
        return response

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            # The session case.call makes for itself, kept: keep-alive saves a connection
            # per request.
            session = self._sessions.session = SameHostRedirectsSession()
            with self._lock:
                self._opened.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._opened:
                session.close()
            self._opened.clear()
        self._sessions = threading.local()

    def _timeout(self, case: AnyCase) -> tuple[float, float]:
        """(connect, read) seconds; a stream may only go quiet for the idle timeout."""
        total = self.settings.request_timeout
        streamed = isinstance(case.body, dict) and case.body.get("stream") is True
        read = min(total, self.settings.stream_idle_timeout) if streamed else total
        return min(10.0, total), read


class PlannedFuzzTests:
    """pytest hooks: a fuzz test first generates and sends all of its cases, and only then
    judges them, in their order; at the first that does not pass, Hypothesis runs the test
    again for real (the answers come from the cache) and shrinks it.

    With a seed Hypothesis generates the same cases until one fails, so the verdicts are
    those of judging each case as it comes; and every run sends the same cases, whatever
    its --concurrency (planned runs send them in a wave, see conformance.session.planning).
    """

    def __init__(self) -> None:
        self.recorded: dict[str, FuzzPlan] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Any:
        fuzzer = pyfuncitem.funcargs.get("fuzzer")
        if not isinstance(fuzzer, Fuzzer) or not fuzzer.dispatch.planning:
            return (yield)
        return (yield from _recording(fuzzer, self.recorded, pyfuncitem.nodeid))


class ReplayedFuzzTests:
    """The judging half of PlannedFuzzTests (pluggy runs one hook function per plugin)."""

    def __init__(self, planned: PlannedFuzzTests) -> None:
        self.planned = planned

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        fuzzer = pyfuncitem.funcargs.get("fuzzer")
        if not isinstance(fuzzer, Fuzzer) or fuzzer.dispatch.planning:
            return None
        recorded = self.planned.recorded.get(pyfuncitem.nodeid)
        if recorded is None or not recorded.complete:
            # Not planned (--concurrency=1): generate and send them all now, one by one.
            recorded = FuzzPlan()
            fuzzer.recording = recorded
            try:
                default_pyfunc_call(pyfuncitem)  # a skip or an error is the test's outcome
            finally:
                fuzzer.recording = None
        if not fuzzer.replay_planned(recorded):
            return None  # pytest runs the test again, and Hypothesis shrinks the failure
        return True


def _recording(fuzzer: Fuzzer, into: dict[str, FuzzPlan], nodeid: str) -> Any:
    recording = fuzzer.recording = into[nodeid] = FuzzPlan()
    try:
        result = yield
    finally:
        fuzzer.recording = None
    recording.complete = True
    return result


def _is_fuzzing(case: AnyCase) -> bool:
    return case.meta is not None and isinstance(case.meta.phase.data, FuzzingPhaseData)


def _request_key(case: AnyCase) -> str:
    """What identifies a case's request on the wire (the credential is always the run's key)."""
    parts = [case.method, case.path, case.path_parameters, case.query, case.headers, case.body]
    return _canonical([*parts, case.media_type])


def _canonical(value: object) -> str:
    # By type name for what JSON cannot hold (NotSet): a repr would carry an address.
    return json.dumps(value, sort_keys=True, default=lambda other: type(other).__name__)


def _pick(seed: int, value: object, share: int) -> bool:
    """A seeded one-in-`share` choice that depends on `value` only, so replays agree."""
    digest = hashlib.blake2b(f"{seed}:{_canonical(value)}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % share == 0


# Request headers worth showing in a reproduction (the rest is requests' boilerplate).
_SHOWN_HEADERS = ("content-type", "accept")


def as_exchange(response: schemathesis.Response) -> Exchange:
    """The suite's redacted record of a schemathesis exchange (for spend and reports)."""
    request = response.request
    raw = request.body
    body = raw.encode("utf-8") if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
    headers = {str(name): _text(value) for name, value in request.headers.items()}
    sent = {
        name: value
        for name, value in redact_headers(headers).items()
        if name.lower() in _SHOWN_HEADERS and value != "*/*"
    }
    kind = StreamExchange if _media_type(response) == "text/event-stream" else Exchange
    exchange = kind(
        method=str(request.method),
        url=str(request.url),
        request_headers=sent,
        request_body=body,
        credential_label=CONFIGURED_KEY,
        status=response.status_code,
        response_headers=_first_values(response.headers),
        body=response.content,
        elapsed=response.elapsed,
    )
    if isinstance(exchange, StreamExchange):
        exchange.events, exchange.issues = read_events([response.content])
    return exchange


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _first_values(headers: Mapping[str, list[str]]) -> dict[str, str]:
    return {name.lower(): values[0] if values else "" for name, values in headers.items()}
