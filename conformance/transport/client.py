"""The one HTTP client every check uses: timeouts, budget, retries, caps, transcripts."""

from __future__ import annotations

import email.utils
import json
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, astuple, dataclass
from typing import Any, TypeVar

import httpx

from conformance.config.settings import Settings
from conformance.transport.dispatch import Dispatcher
from conformance.transport.errors import BudgetExhausted as BudgetExhausted
from conformance.transport.errors import CouldNotJudge as CouldNotJudge
from conformance.transport.errors import Halted, StaleConnection
from conformance.transport.exchange import CONFIGURED_KEY, Credential, Exchange, StreamExchange
from conformance.transport.inflight import InFlight, Ticket
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.transport.redact import redact_headers, register_secret
from conformance.transport.redirects import Download, follow
from conformance.transport.sse import EventStreamReader

ExchangeT = TypeVar("ExchangeT", bound=Exchange)
# Offline re-judging (conformance.evidence): the recorded answer to (method, URL, body,
# credential, streamed), or CouldNotJudge when the recording has none.
Replay = Callable[[str, str, bytes | None, Credential, bool], Exchange]

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_RETRIES = 3
MAX_RETRY_WAIT = 30.0  # seconds, summed over one request's retries
STREAM_DEADLINE = 120.0  # seconds for a whole stream, however lively


# Errors that mean the peer closed or reset the connection, as opposed to a timeout or a
# malformed answer. httpcore raises RemoteProtocolError("Server disconnected without sending
# a response.") when the socket reads EOF before a status line; a reset shows as ReadError,
# a write to a closed socket as WriteError (httpcore swallows it and reads, then fails).
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_NO_RESPONSE = "Server disconnected without sending a response"


def admit(budget: Budget, limiter: RateLimiter, spend: Spend) -> None:
    """Let one more request go to the target: within the budget, at the rate, counted."""
    if limiter.halted.is_set():
        raise Halted("the run was interrupted: no request is sent any more")
    if budget.cost.exhausted():
        raise BudgetExhausted(
            f"cost: the run's --max-cost of {budget.cost.cap} is spent "
            f"({budget.cost.spent:.6f} by the /models prices; raise it with --max-cost)"
        )
    if not budget.take():
        raise BudgetExhausted(
            f"budget: the run's limit of {budget.limit} requests is spent "
            "(raise it with --max-requests)"
        )
    limiter.wait()
    if limiter.halted.is_set():
        # Halted while it waited for its turn at the rate: it never goes out.
        raise Halted("the run was interrupted: no request is sent any more")
    spend.count("requests")


@dataclass(frozen=True)
class _Key:
    method: str
    url: str
    body: bytes | None
    auth: str | None
    headers: tuple[tuple[str, str], ...]
    stream: bool


class ApexClient:
    """Sends requests to the target and records every exchange, redacted."""

    def __init__(
        self,
        settings: Settings,
        spend: Spend,
        budget: Budget,
        limiter: RateLimiter,
        dispatch: Dispatcher | None = None,
    ) -> None:
        register_secret(settings.api_key)
        self.settings = settings
        self.spend = spend
        self.dispatch = dispatch or Dispatcher(1)
        self.inflight = InFlight(self.dispatch.concurrency, limiter.halted)
        self._budget = budget
        self._limiter = limiter
        self._base = settings.base_url.rstrip("/")
        self._http = self._new_http()
        # Pools replaced after a dropped connection; requests on their way may still use them.
        self._retired: list[httpx.Client] = []
        self._http_lock = threading.Lock()
        self._cache: dict[_Key, Exchange] = {}
        self._seeded: set[_Key] = set()
        # (start, end) of every request sent, by time.monotonic(): which waited for which.
        self.timeline: list[tuple[float, float]] = []
        # Exchanges the current check used (cache hits included), for its transcript.
        self.touched: list[Exchange] = []
        # Set for a re-judging run: answers come from a recording, none from the network.
        self.replay: Replay | None = None

    # Credentials -------------------------------------------------------------
    @property
    def key(self) -> Credential:
        return Credential(f"Bearer {self.settings.api_key}", CONFIGURED_KEY)

    def credential(self, header: str | None, label: str) -> Credential:
        """A non-standard credential; its value is redacted like the key."""
        if header:
            register_secret(header.split(" ", 1)[-1])
        return Credential(header, label)

    # Requests ----------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self._base + path

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        credential: Credential | None = None,
    ) -> Exchange:
        """Send a request (identical requests are answered from the run's cache)."""
        body = content if content is not None else _encode(json_body)
        cred = self.key if credential is None else credential
        sent = {} if body is None else {"Content-Type": "application/json"}
        key = _Key(method, self.url(path), body, cred.header, tuple(sorted(sent.items())), False)
        exchange = self._cache.get(key)
        if exchange is None and self.replay is not None:
            exchange = self._keep(key, self.replay(method, key.url, body, cred, False))
        if exchange is None:
            url = self.url(path)
            exchange = self.dispatch.obtain(
                key, lambda: self._keep(key, self._send(method, url, body, cred, sent))
            )
        self.touched.append(exchange)
        return exchange

    def fetch(self, url: str) -> Download:
        """GET an absolute URL the API returned (an image), following its redirects within
        limits as a client would; no credential is sent to any hop, each hop is a request."""
        return follow(url, lambda hop: self.call("GET", hop, credential=Credential(None, "none")))

    def stream(self, path: str, json_body: Any) -> StreamExchange:
        """POST a streaming request with the configured key and read its events as they arrive."""
        body = _encode(json_body)
        cred = self.key
        sent = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        key = _Key("POST", self.url(path), body, cred.header, tuple(sorted(sent.items())), True)
        exchange = self._cache.get(key)
        if exchange is None and self.replay is not None:
            exchange = self._keep(key, self.replay("POST", key.url, body, cred, True))
        if not isinstance(exchange, StreamExchange):
            url = self.url(path)
            exchange = self.dispatch.obtain(
                key, lambda: self._keep(key, self._stream(url, body, cred, sent))
            )
        self.touched.append(exchange)
        return exchange

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        content: bytes | None,
        ahead: bool = False,
    ) -> Exchange | None:
        """Send a request as given, with the configured key: a generated one (the fuzz
        cases), whose method, query and headers are not the checks' usual ones.

        With `ahead`, a request that is sent ahead while planning gives None until it is
        answered, and the caller goes on (requests that do not depend on one another).
        """
        cred, full = self.key, self.url(url)
        key = _Key(method, full, content, cred.header, tuple(sorted(headers.items())), False)
        exchange = self._cache.get(key)
        if exchange is None and self.replay is not None:
            exchange = self._keep(key, self.replay(method, full, content, cred, False))
        if exchange is None:

            def sender() -> Exchange:
                return self._keep(key, self._send(method, full, content, cred, headers))

            exchange = (self.dispatch.prefetch if ahead else self.dispatch.obtain)(key, sender)
            if exchange is None:
                return None
        self.touched.append(exchange)
        return exchange

    def close(self, *, interrupted: bool = False) -> None:
        """Close the connections; after Ctrl-C, abandon the requests on their way too."""
        if interrupted:
            self.inflight.halt()
        # Closing the pools first ends the exchanges in flight, so their threads finish.
        for http in (*self._retired, self._http):
            http.close()
        self.dispatch.close(wait_for_sends=not interrupted)

    def answers(self, *, own: bool = False) -> list[Exchange]:
        """Every exchange this client has received so far (this worker's, under xdist);
        with `own`, not those taken over from the controller.

        In the order of their requests, not of their arrival: the checks that judge every
        answer then name the same ones first at every --concurrency.
        """
        keys = sorted(self._cache, key=_order)
        return [self._cache[k] for k in keys if not (own and k in self._seeded)]

    def sent(self) -> list[tuple[Exchange, str | None]]:
        """Every exchange with the Authorization value it went with, for the recording (which
        masks it: conformance.evidence)."""
        return [(exchange, key.auth) for key, exchange in self._cache.items()]

    def export_cache(self) -> list[tuple[Any, ...]]:
        """The answers so far, as plain data an xdist worker can take over."""
        return [
            (astuple(key), asdict(exchange))
            for key, exchange in self._cache.items()
            if not isinstance(exchange, StreamExchange)
        ]

    def seed_cache(self, entries: list[tuple[Any, ...]]) -> None:
        """Take over answers the controller already has, so workers do not pay for them twice."""
        for key, exchange in entries:
            method, url, body, auth, headers, stream = key
            headers = tuple(tuple(pair) for pair in headers)
            key = _Key(method, url, body, auth, headers, stream)
            self._cache[key] = Exchange(**exchange)
            self._seeded.add(key)

    # Internals ---------------------------------------------------------------
    def _keep(self, key: _Key, exchange: ExchangeT) -> ExchangeT:
        self._cache[key] = exchange
        return exchange

    def _new_http(self) -> httpx.Client:
        timeout = self.settings.request_timeout
        # One connection per request that may be in flight, so none waits for a free one.
        pool = max(10, self.dispatch.concurrency)
        return httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            follow_redirects=False,
            verify=tls_context(self.settings),
        )

    def _fresh_retry(self, attempt: Callable[[bool], ExchangeT]) -> ExchangeT:
        """One request, sent again once on a fresh connection if a reused one was gone.

        Servers may close an idle keep-alive connection at any time (RFC 9112 9.6), many do
        after a 5xx, and the close can cross the next request on the wire: that request never
        reached the target, so curl and browsers resend it once on a new connection. The
        retry is a request like any other (budget, rate limit, spend) and is counted apart.
        """
        failed = self._http
        try:
            return attempt(False)
        except StaleConnection:
            self.spend.count("connection_retries")
            # Every idle connection of a server that just dropped one is suspect: start over
            # (once, however many requests in flight found theirs closed).
            with self._http_lock:
                if self._http is failed:
                    self._retired.append(self._http)
                    self._http = self._new_http()
            return attempt(True)

    def _record(
        self, method: str, url: str, body: bytes | None, cred: Credential, sent: dict[str, str]
    ) -> Exchange:
        return Exchange(method, url, redact_headers(sent), body, cred.label, sent_at=time.time())

    def _headers(self, cred: Credential, sent: dict[str, str]) -> dict[str, str]:
        headers = dict(sent)
        if cred.header is not None:
            headers["Authorization"] = cred.header
        return headers

    def _send(
        self, method: str, url: str, body: bytes | None, cred: Credential, sent: dict[str, str]
    ) -> Exchange:
        return self._as_if_alone(
            lambda: self._fresh_retry(
                lambda retried: self._send_once(method, url, body, cred, sent, retried)
            )
        )

    def _as_if_alone(self, attempt: Callable[[], ExchangeT]) -> ExchangeT:
        """The answer the target gives this request when it is not busy with the suite's others.

        A timeout, a broken connection or stream, a 5xx, 429 or 503 met while other requests
        were in flight may be the suite's own load: such a request is sent once more, alone,
        and that answer is the one judged (counted in the spend as `sent_alone`).
        """
        tickets: list[Ticket] = []
        try:
            exchange = self._retrying(attempt, self.inflight.slot, tickets)
        except (BudgetExhausted, Halted):
            raise
        except CouldNotJudge:
            if not any(ticket.crowded for ticket in tickets):
                raise
        else:
            if not (_strained(exchange) and any(ticket.crowded for ticket in tickets)):
                return exchange
        self.spend.count("sent_alone")
        return self._retrying(attempt, self.inflight.alone, [])

    def _retrying(
        self,
        attempt: Callable[[], ExchangeT],
        place: Callable[[], AbstractContextManager[Ticket]],
        tickets: list[Ticket],
    ) -> ExchangeT:
        """Repeat a request answered 429/503 after the delay it asks for, within bounds."""
        waited = 0.0
        for number in range(1, MAX_RETRIES + 2):
            with place() as ticket:
                tickets.append(ticket)
                exchange = self._attempt(attempt, ticket)
            delay = _retry_delay(exchange)
            if delay is None:
                break
            if number > MAX_RETRIES or waited + delay > MAX_RETRY_WAIT:
                raise CouldNotJudge(
                    f"rate limited: {exchange.method} {exchange.url} still got {exchange.status} "
                    f"after {number} attempts and {waited:.1f} s of waiting"
                )
            # The whole run waits, not this request alone: the target is overloaded.
            self._limiter.pause(delay)
            waited += delay
        self._budget.cost.charge(exchange.requested_model, self.spend.observe(exchange))
        return exchange

    def _attempt(self, attempt: Callable[[], ExchangeT], ticket: Ticket) -> ExchangeT:
        """One attempt, and what its outcome says about the load the target sustains."""
        try:
            exchange = attempt()
        except (BudgetExhausted, Halted):
            raise
        except CouldNotJudge:
            self.inflight.strained(ticket)
            raise
        if _strained(exchange):
            self.inflight.strained(ticket)
        else:
            kind = (exchange.method, exchange.url, type(exchange), exchange.status // 100)
            self.inflight.kept_pace(ticket, kind, exchange.elapsed)
        return exchange

    def _send_once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        cred: Credential,
        sent: dict[str, str],
        retried: bool,
    ) -> Exchange:
        exchange = self._record(method, url, body, cred, sent)
        admit(self._budget, self._limiter, self.spend)
        started = time.monotonic()
        trace = _ConnectionTrace()
        try:
            with self._http.stream(
                method,
                url,
                content=body,
                headers=self._headers(cred, sent),
                extensions=trace.extensions,
            ) as response:
                exchange.status = response.status_code
                exchange.headers_after = time.monotonic() - started
                exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
                _read_capped(response, exchange, started, self.settings.request_timeout)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            if exchange.status == 0:
                raise _unanswered(method, url, exc, self.settings, trace, retried) from exc
            # The target answered and then broke off: that is the target's doing.
            exchange.broken = (
                f"{type(exc).__name__} after {len(exchange.body)} bytes of the body: {exc}"
            )
        exchange.elapsed = time.monotonic() - started
        self.timeline.append((started, started + exchange.elapsed))
        return exchange

    def _stream(
        self, url: str, body: bytes | None, cred: Credential, sent: dict[str, str]
    ) -> StreamExchange:
        return self._as_if_alone(
            lambda: self._fresh_retry(
                lambda retried: self._stream_once(url, body, cred, sent, retried)
            )
        )

    def _stream_once(
        self,
        url: str,
        body: bytes | None,
        cred: Credential,
        sent: dict[str, str],
        retried: bool,
    ) -> StreamExchange:
        record = self._record("POST", url, body, cred, sent)
        exchange = StreamExchange(**vars(record))
        admit(self._budget, self._limiter, self.spend)
        idle = self.settings.stream_idle_timeout
        timeout = httpx.Timeout(
            self.settings.request_timeout,
            read=idle,
            connect=min(10.0, self.settings.request_timeout),
        )
        started = time.monotonic()
        reader = EventStreamReader()
        raw = bytearray()
        trace = _ConnectionTrace()
        try:
            with self._http.stream(
                "POST",
                url,
                content=body,
                headers=self._headers(cred, sent),
                timeout=timeout,
                extensions=trace.extensions,
            ) as response:
                exchange.status = response.status_code
                exchange.headers_after = time.monotonic() - started
                exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
                for chunk in response.iter_bytes():
                    now = time.monotonic() - started
                    raw += chunk
                    exchange.events += reader.feed(chunk, now)
                    if exchange.events and exchange.first_event_after is None:
                        exchange.first_event_after = exchange.events[0].received_at
                    if len(raw) > MAX_BODY_BYTES or now > STREAM_DEADLINE:
                        exchange.truncated = True
                        break
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            if exchange.status == 0:
                raise _unanswered("POST", url, exc, self.settings, trace, retried) from exc
            if isinstance(exc, httpx.ReadTimeout):
                exchange.stalled_after = time.monotonic() - started
            else:
                exchange.broken = (
                    f"{type(exc).__name__} after {len(raw)} bytes of the stream: {exc}"
                )
        if exchange.stalled_after is None and not exchange.truncated:
            exchange.events += reader.close()
        exchange.issues = list(reader.issues)
        exchange.body = bytes(raw)
        exchange.elapsed = time.monotonic() - started
        self.timeline.append((started, started + exchange.elapsed))
        return exchange


def _order(key: _Key) -> tuple[str, str, bytes, str, tuple[tuple[str, str], ...], bool]:
    return (key.method, key.url, key.body or b"", key.auth or "", key.headers, key.stream)


def _encode(json_body: Any) -> bytes | None:
    if json_body is None:
        return None
    return json.dumps(json_body, ensure_ascii=False).encode("utf-8")


def _read_capped(
    response: httpx.Response, exchange: Exchange, started: float, limit: float
) -> None:
    """Read the body into the exchange, stopping at the size cap and the whole-request deadline."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                exchange.truncated = True
                del body[MAX_BODY_BYTES:]
                return
            if time.monotonic() - started > limit:
                raise httpx.ReadTimeout(f"the body was still arriving after {limit:g} s")
    finally:
        exchange.body = bytes(body)


class _ConnectionTrace:
    """Watches httpcore's trace events of one request: was its connection opened for it?"""

    def __init__(self) -> None:
        self.opened = False
        self.extensions = {"trace": self._event}

    def _event(self, name: str, info: dict[str, Any]) -> None:
        if name.startswith("connection.connect_tcp."):
            self.opened = True


def tls_context(settings: Settings) -> ssl.SSLContext:
    """httpx's default trust (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), plus --ca-bundle."""
    context = httpx.create_ssl_context()
    if settings.ca_bundle is not None:
        context.load_verify_locations(cafile=str(settings.ca_bundle))
    return context


def _unanswered(
    method: str,
    url: str,
    exc: Exception,
    settings: Settings,
    trace: _ConnectionTrace,
    retried: bool,
) -> CouldNotJudge:
    """The error for a request that got no status line; StaleConnection when a resend is due."""
    message = _transport_message(method, url, exc, settings.request_timeout)
    if retried:
        return CouldNotJudge(
            f"{message} (on a fresh connection, after one retry: a reused one was found closed)"
        )
    # Only a reused connection can have been closed by the server while idle; a drop on a
    # fresh one is the target's answer (none), and a malformed answer is not a drop.
    dropped = isinstance(exc, _DROPPED) and (
        not isinstance(exc, httpx.RemoteProtocolError) or _NO_RESPONSE in str(exc)
    )
    if dropped and not trace.opened:
        return StaleConnection(message)
    return CouldNotJudge(message)


def _transport_message(method: str, url: str, exc: Exception, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout: no answer from {method} {url} within {timeout:g} s ({type(exc).__name__})"
    return f"connection: {method} {url} failed: {type(exc).__name__}: {exc}"


def _strained(exchange: Exchange) -> bool:
    """Whether an answer shows the target under more load than it sustains."""
    stalled = isinstance(exchange, StreamExchange) and exchange.stalled_after is not None
    if exchange.status >= 500 or exchange.status == 429 or bool(exchange.broken) or stalled:
        return True
    return isinstance(exchange, StreamExchange) and 200 <= exchange.status < 300 and _cut(exchange)


def _cut(stream: StreamExchange) -> bool:
    """A 200 event stream that ended without any finish_reason: an engine that serves one
    request at a time ends the stream in progress, cleanly, when another one arrives
    (llama.cpp's server does by default)."""
    if stream.media_type != "text/event-stream":
        return False
    for event in stream.data_events():
        try:
            chunk = json.loads(event.data)
        except ValueError:
            continue
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if isinstance(choices, list) and any(
            isinstance(c, dict) and c.get("finish_reason") for c in choices
        ):
            return False
    return True


def _retry_delay(exchange: Exchange) -> float | None:
    """Seconds to wait before retrying a 429/503, from retry-after-ms or Retry-After."""
    if exchange.status not in (429, 503):
        return None
    headers = exchange.response_headers
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return 1.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())
