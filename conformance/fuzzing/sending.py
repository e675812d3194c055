"""The Fuzzer: generated cases go to the target through the suite's one client.

The client gives them what every request of the run gets: the budget, the rate limit and
the cost cap, retries of 429/503 and of dropped keep-alive connections, the body cap,
redaction and transcripts, the cache (a case generated twice is paid for once), the
dispatcher's waves, and a place among the answers the every-answer checks and the latency
profile read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.fuzzing.config import EXAMPLES, Examples
from conformance.fuzzing.conversion import WireRequest, as_response, wire_request
from conformance.fuzzing.oracle import POSITIVE_CHECKS, AnyCase, CheckFunction, negative_checks
from conformance.fuzzing.shaping import ModelChoice, shape, worth_sending
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.exchange import Exchange


@dataclass(frozen=True)
class RecordedCase:
    case: AnyCase
    request: WireRequest
    negative: bool


@dataclass
class RecordedCases:
    """The cases one fuzz test generated, in their order, and whether that test ran to its
    end (then they are all it generates with this seed until one fails)."""

    cases: list[RecordedCase] = field(default_factory=list)
    complete: bool = False


@dataclass
class Fuzzer:
    """Shapes, sends and judges the generated cases of the fuzz tests."""

    client: ApexClient
    models: ModelChoice
    # Where one fuzz test notes the cases it generates (set while they are collected).
    recording: RecordedCases | None = None
    examples: Examples = field(init=False)
    negative_checks: list[CheckFunction] = field(init=False)
    # What a case sent while its test was recorded met instead of an answer, until judged.
    _failures: dict[WireRequest, CouldNotJudge] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.examples = EXAMPLES[self.client.settings.profile]
        listed = {str(entry["id"]) for entry in self.models.listing if "id" in entry}
        # A model named by --chat-model/--image-model exists even when the listing omits it.
        chosen = {model for model in (self.models.chat, self.models.image) if model}
        known = frozenset(listed | chosen) if listed else frozenset()
        self.negative_checks = negative_checks(known)

    @property
    def planning(self) -> bool:
        """Whether the session is sending the run's requests ahead (session.planning)."""
        return self.client.dispatch.planning

    def run(self, case: AnyCase, *, negative: bool) -> None:
        """Shape the case, send it, and run the checks of its test.

        While the test's cases are being recorded, the case is only sent and noted: it is
        judged later, from the notes (`judge_recorded`).
        """
        settings = self.client.settings
        shape(case, self.models, negative=negative, seed=settings.seed)
        if not worth_sending(case, self.examples, settings.seed):
            return
        request = wire_request(case, settings.base_url)
        if self.recording is None:
            self._judge(RecordedCase(case, request, negative))
            return
        self.recording.cases.append(RecordedCase(case, request, negative))
        try:
            self._send(request, ahead=True)
        except CouldNotJudge as exc:
            self._failures[request] = exc  # met when the case is judged, as a planned one's

    def judge_recorded(self, recorded: RecordedCases) -> bool:
        """Judge the cases a run of this test recorded, in their order; False at the first
        that does not pass (Hypothesis then runs the test for real, and shrinks it as in a
        run without recording)."""
        for noted in recorded.cases:
            try:
                self._judge(noted)
            except Exception:
                return False
        return True

    def _judge(self, noted: RecordedCase) -> None:
        failure = self._failures.pop(noted.request, None)
        if failure is not None:
            raise failure
        exchange = self._send(noted.request, ahead=False)
        assert exchange is not None  # only a request sent ahead can be left unanswered
        noted.case.validate_response(
            as_response(exchange),
            checks=self.negative_checks if noted.negative else POSITIVE_CHECKS,
            transport_kwargs={"base_url": self.client.settings.base_url},
        )

    def _send(self, request: WireRequest, *, ahead: bool) -> Exchange | None:
        return self.client.send(
            request.method,
            request.url,
            headers=dict(request.headers),
            content=request.content,
            ahead=ahead,
        )
