"""Benchmarks of the conformance suite against the embedded reference server (issue 8).

`python bench/run.py` prints, as aligned plain text: the cost of each profile, the suite's
fuzz phase against the schemathesis CLI doing the same work, the client's per-request
overhead, the SSE reader's throughput against httpx-sse, and serial against `-n 2`.
`--quick` takes one sample of everything instead of several. The key is never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import latency  # bench/latency.py, beside this script
from httpx._decoders import TextDecoder
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.config.settings import Settings
from conformance.fuzzing.config import EXAMPLES
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.transport.client import ApexClient
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.transport.sse import EventStreamReader
from conformance.vocabulary import EXIT_NOT_JUDGED

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "apexapi.yaml"
SEED = 20261127  # the suite's default --seed, passed explicitly to both fuzzers
REDACTED = "[REDACTED]"
# Checks of the suite's positive fuzz test; the CLI's defaults add negative_data_rejection
# and positive_data_acceptance, which fail on what the suite deliberately shapes (model ids).
CLI_CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,"
CLI_CHECKS += "response_schema_conformance"
SSE_EVENTS = 50_000
SSE_MAX_CHUNK = 1024  # random chunk sizes 1..this: a few events per network read
OVERHEAD_BLOCK = 250  # requests per timed block; bare and suite blocks alternate


# --- Presentation ---------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to width: the first left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def heading(text: str) -> None:
    print(f"\n{text}\n{'=' * len(text)}", flush=True)


def machine() -> str:
    """CPU model, cores and Python, for the top of the report."""
    model = "unknown CPU"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {model}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()} on {platform.system()}"
        f" (load average at start {load})"
    )


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


# --- Suite runs (subprocesses) --------------------------------------------------------------
@dataclass
class SuiteRun:
    """One `python -m pytest` run of the suite and what its summary.json says."""

    wall: float
    exit_code: int
    run: dict[str, Any] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    tail: str = ""

    @property
    def duration(self) -> float:
        return float(self.run.get("duration_s", float("nan")))

    def spend(self, name: str) -> int:
        return int(self.run.get("spend", {}).get(name, 0))


def suite_command(profile: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--profile={profile}",
        "--report-dir=<tmp>", f"--seed={SEED}", *extra,
    ]  # fmt: skip


def run_suite(profile: str, extra: Sequence[str] = ()) -> SuiteRun:
    """Run the suite in a subprocess from the repo root (it starts the embedded reference)."""
    with tempfile.TemporaryDirectory(prefix="apex-bench-") as tmp:
        cmd = [a.replace("<tmp>", tmp) for a in suite_command(profile, extra)]
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=ROOT, env=latency.clean_env(), capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        summary = Path(tmp) / "summary.json"
        data = json.loads(summary.read_text()) if summary.exists() else {}
    verdicts = Counter(row["verdict"] for row in data.get("requirements", []))
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
    return SuiteRun(wall, proc.returncode, data.get("run", {}), dict(verdicts), tail)


@dataclass
class CliRun:
    """One schemathesis CLI run: wall time, its own reported time, requests served."""

    wall: float
    reported: float
    requests: int
    exit_code: int
    tail: str


class CountingApp:
    """ASGI wrapper counting HTTP requests, to tell how much work a fuzzer really sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def cli_command(base_url: str, key: str) -> list[str]:
    counts = EXAMPLES["standard"]
    # The CLI has one count for every operation; the suite's largest standard count is it.
    examples = max(counts.negative, counts.positive_chat, counts.positive_images)
    return [
        str(Path(sys.executable).with_name("schemathesis")), "run", str(SPEC),
        "--url", base_url, "-H", f"Authorization: Bearer {key}",
        "--max-examples", str(examples), "--seed", str(SEED), "--workers", "1",
        "--mode", "all", "--phases", "examples,coverage,fuzzing",
        "--generation-database", "none", "--checks", CLI_CHECKS, "--no-color",
    ]  # fmt: skip


def run_cli(base_url: str, key: str, counter: CountingApp) -> CliRun:
    """Run the schemathesis CLI against the bench's own reference server (no report)."""
    before = counter.requests
    # From a scratch directory: the CLI leaves a .schemathesis/ replay cache in its cwd.
    with tempfile.TemporaryDirectory(prefix="apex-bench-st-") as scratch:
        started = time.perf_counter()
        proc = subprocess.run(
            cli_command(base_url, key),
            cwd=scratch,
            env=latency.clean_env(),
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    found = re.findall(r" in ([\d.]+)s", proc.stdout)
    reported = float(found[-1]) if found else float("nan")
    tail = "\n".join(proc.stdout.strip().splitlines()[-3:]).replace(key, REDACTED)
    return CliRun(wall, reported, counter.requests - before, proc.returncode, tail)


def shown(cmd: Sequence[str], key: str | None = None) -> str:
    """A command line fit to print: the key redacted, the venv's paths shortened."""
    text = shlex.join(["python" if a == sys.executable else a for a in cmd])
    text = text.replace(str(Path(sys.executable).parent) + "/", "").replace(str(ROOT) + "/", "")
    return text.replace(key, REDACTED) if key else text


# --- Client overhead ------------------------------------------------------------------------
@dataclass
class Overhead:
    """Per-request times (µs, medians over blocks) and per-block ratios to bare httpx."""

    requests: int
    us: dict[str, float]
    ratios: dict[str, list[float]]


def overhead(base_url: str, key: str, total: int) -> Overhead:
    """GET /models through a bare httpx.Client, ApexClient.call, and call plus its transcript.

    The variants take turns block by block, in a rotating order, so that load from other
    work on the machine hits them alike; each block's ratio is to the bare block beside it.
    """
    settings = Settings(
        base_url=base_url, api_key=key, embedded=True, max_requests=10 * total + 100
    )
    client = ApexClient(settings, Spend(), Budget(settings.max_requests), RateLimiter(None))
    bare = httpx.Client(timeout=30.0, follow_redirects=False)
    auth = {"Authorization": f"Bearer {key}"}
    counter = iter(range(10**9))

    def bare_once() -> None:
        # Distinct query strings, as for the suite's client (whose cache would answer).
        response = bare.get(f"{base_url}/models?n={next(counter)}", headers=auth)
        response.read()
        if response.status_code != 200:
            raise RuntimeError(f"bare GET /models: {response.status_code}")

    def suite_once() -> None:
        exchange = client.call("GET", f"/models?n={next(counter)}")
        if exchange.status != 200:
            raise RuntimeError(f"ApexClient GET /models: {exchange.status}")
        client.touched.clear()  # as the plugin does before each check

    def failing_once() -> None:
        # What a check that does not pass adds: its transcript and curl line, redacted.
        exchange = client.call("GET", f"/models?n={next(counter)}")
        exchange.transcript()
        exchange.curl()
        client.touched.clear()

    variants: dict[str, Callable[[], None]] = {
        "bare httpx.Client": bare_once,
        "ApexClient.call": suite_once,
        "call + transcript + curl": failing_once,
    }

    def block(once: Callable[[], None]) -> float:
        started = time.perf_counter()
        for _ in range(OVERHEAD_BLOCK):
            once()
        return (time.perf_counter() - started) / OVERHEAD_BLOCK

    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    try:
        for once in variants.values():
            block(once)  # warm connections and code paths
        for i in range(max(1, total // OVERHEAD_BLOCK)):
            for name in names[i % 3 :] + names[: i % 3]:
                times[name].append(block(variants[name]))
    finally:
        client.close()
        bare.close()
    base = times["bare httpx.Client"]
    return Overhead(
        requests=len(base) * OVERHEAD_BLOCK,
        us={name: median(t) * 1e6 for name, t in times.items()},
        ratios={name: [a / b for a, b in zip(t, base, strict=True)] for name, t in times.items()},
    )


# --- SSE reader throughput ------------------------------------------------------------------
def recorded_stream(events: int, seed: int) -> tuple[bytes, list[bytes]]:
    """An OpenAI-style chunk stream ending in [DONE], and the same bytes cut at random points."""
    rng = random.Random(seed)
    # Some multi-byte characters, so that cuts also fall inside UTF-8 sequences.
    words = ["the", "model", "streams", "tokens", "café", "naïve", "日本語", "🙂", " ", "\\n"]
    out: list[bytes] = []
    for i in range(events):
        last = i == events - 1
        chunk = {
            "id": "chatcmpl-bench0001",
            "object": "chat.completion.chunk",
            "created": 1764201600,
            "model": "openai/gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "delta": {} if last else {"content": rng.choice(words) + " "},
                    "finish_reason": "stop" if last else None,
                }
            ],
        }
        if last:
            chunk["usage"] = {"prompt_tokens": 9, "completion_tokens": events - 1}
        text = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
        out.append(b"data: " + text.encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    body = b"".join(out)
    chunks: list[bytes] = []
    pos = 0
    while pos < len(body):
        size = rng.randint(1, SSE_MAX_CHUNK)
        chunks.append(body[pos : pos + size])
        pos += size
    return body, chunks


def read_with_reader(chunks: list[bytes]) -> list[str]:
    """The suite's EventStreamReader, as ApexClient.stream drives it."""
    reader = EventStreamReader()
    events = []
    for chunk in chunks:
        events += reader.feed(chunk, 0.0)
    events += reader.close()
    return [e.data for e in events]


def read_with_httpx_sse(chunks: list[bytes]) -> list[str]:
    """httpx-sse as EventSource.iter_sse reads a response: iter_text, lines, SSEDecoder."""
    text_decoder = TextDecoder("utf-8")  # what Response.iter_text() uses
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    events = []

    def texts() -> Iterator[str]:
        for chunk in chunks:
            text = text_decoder.decode(chunk)
            if text:  # TextChunker(chunk_size=None) drops empty strings
                yield text
        rest = text_decoder.flush()
        if rest:
            yield rest

    def all_lines() -> Iterator[str]:  # _iter_sse_lines
        for text in texts():
            yield from lines.decode(text)
        yield from lines.flush()

    for line in all_lines():
        sse = decoder.decode(line.rstrip("\n"))
        if sse is not None:
            events.append(sse)
    return [e.data for e in events]


def time_once(fn: Callable[[list[bytes]], list[str]], chunks: list[bytes]) -> float:
    started = time.perf_counter()
    fn(chunks)
    return time.perf_counter() - started


def peak_memory(fn: Callable[[list[bytes]], list[str]], chunks: list[bytes]) -> int:
    """Peak bytes allocated while reading (the input chunks already exist, so not counted)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn(chunks)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- Main -----------------------------------------------------------------------------------
@contextmanager
def reference_server() -> Iterator[tuple[str, str, CountingApp]]:
    """The bench's own reference server (for the CLI and the overhead runs): URL, key, counter."""
    key = generate_api_key()
    app = CountingApp(create_app(key))
    server = ServerThread(app)
    # The CLI's malformed probes make uvicorn and asyncio log warnings that would garble the
    # table. Set after ServerThread(): uvicorn's Config sets the level of uvicorn.error itself.
    for name in ("uvicorn.error", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with server:
        yield server.base_url, key, app


def status(ok: bool) -> str:
    return "met" if ok else "MISSED"


def exits(codes: Iterable[int]) -> str:
    return ",".join(sorted({str(c) for c in codes}))


@dataclass
class Medians:
    """Medians over one job's runs: times, spend, and requirements not passed."""

    name: str
    runs: int
    wall: float
    in_suite: float
    requests: int
    prompt_tokens: int
    completion_tokens: int
    images: int
    failed: int
    errors: int
    exit_codes: str

    @classmethod
    def of(cls, name: str, rs: list[SuiteRun]) -> Medians:
        def spend(field_name: str) -> int:
            return int(median(r.spend(field_name) for r in rs))

        return cls(
            name=name,
            runs=len(rs),
            wall=median(r.wall for r in rs),
            in_suite=median(r.duration for r in rs),
            requests=spend("requests"),
            prompt_tokens=spend("prompt_tokens"),
            completion_tokens=spend("completion_tokens"),
            images=spend("images"),
            failed=int(median(r.verdicts.get("failed", 0) for r in rs)),
            errors=int(median(r.verdicts.get("error", 0) for r in rs)),
            exit_codes=exits(r.exit_code for r in rs),
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def row(self) -> list[object]:
        return [
            self.name, self.runs, self.wall, self.in_suite, self.wall - self.in_suite,
            self.requests, self.prompt_tokens, self.completion_tokens, self.images,
            self.failed, self.errors, self.exit_codes,
        ]  # fmt: skip


PROFILE_HEADERS = [
    "run", "runs", "wall s", "in-suite s", "outside s", "requests", "prompt tok",
    "completion tok", "images", "failed", "error", "exit",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one sample of everything")
    parser.add_argument(
        "--latency", choices=("with", "only", "skip"), default="with",
        help="the latency-bound runs (section 6; about 25 minutes): with the rest, only, or not",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.latency == "only":
        return latency_section()
    runs = 1 if args.quick else 3
    overhead_n = 500 if args.quick else 2000
    sse_reps = 2 if args.quick else 5

    print(f"apex-conformance bench ({'quick, ' if args.quick else ''}medians of {runs} run(s))")
    print(machine(), flush=True)
    targets: list[tuple[str, str, bool]] = []

    jobs: dict[str, tuple[str, list[str]]] = {
        "smoke": ("smoke", []),
        "standard": ("standard", []),
        "full": ("full", []),
        "fuzz": ("standard", ["-m", "fuzz"]),
        "standard -n 2": ("standard", ["-n", "2"]),
    }
    # -m fuzz deselects the other checks on purpose, so its gate says "not judged".
    expected_exit = {name: EXIT_NOT_JUDGED if name == "fuzz" else 0 for name in jobs}
    results: dict[str, list[SuiteRun]] = {name: [] for name in jobs}
    cli: list[CliRun] = []
    with reference_server() as (base_url, key, counter):
        # Rounds of every job in turn: drift in the machine's load then hits each job alike.
        for round_no in range(runs):
            for name, (profile, extra) in jobs.items():
                progress(f"round {round_no + 1}/{runs}: {name}")
                done = run_suite(profile, extra)
                if done.exit_code != expected_exit[name] or not done.run:
                    progress(f"{name}: exit {done.exit_code}\n{done.tail}")
                results[name].append(done)
            progress(f"round {round_no + 1}/{runs}: schemathesis CLI")
            cli.append(run_cli(base_url, key, counter))
        progress("client overhead")
        cost = overhead(base_url, key, overhead_n)

    # 1. Profiles.
    heading("1. Profiles against the embedded reference")
    print(f"command: {shown(suite_command('P'))}  (from the repo root)")
    profiles = [Medians.of(name, results[name]) for name in ("smoke", "standard", "full")]
    print(table(PROFILE_HEADERS, [m.row() for m in profiles]))
    print(
        "wall: around the subprocess; in-suite: summary.json run.duration_s; outside: the "
        "difference\n(interpreter, plugin imports, embedded server start, reports); failed/"
        "error: requirements with that verdict"
    )
    std, full = profiles[1], profiles[2]
    targets += [
        ("standard wall time < 15 s", f"{std.wall:.2f} s", std.wall < 15),
        ("full wall time < 60 s", f"{full.wall:.2f} s", full.wall < 60),
        ("standard requests <= 150", str(std.requests), std.requests <= 150),
        ("standard tokens <= 3,000", str(std.tokens), std.tokens <= 3000),
        ("standard images <= 2", str(std.images), std.images <= 2),
    ]

    # 2. Fuzzing: the suite's fuzz phase against the schemathesis CLI.
    heading("2. Fuzz phase (standard) against the schemathesis CLI alone")
    print(f"suite: {shown(suite_command('standard', ['-m', 'fuzz']))}")
    print(f"CLI:   {shown(cli_command('<reference base url>', key), key)}")
    fz = results["fuzz"]
    fuzz_wall = median(r.wall for r in fz)
    # The fuzz phase alone: the run less its start-up, collection, preflight and model choice.
    fuzz_in = median(r.duration - float(r.run.get("setup_s") or 0) for r in fz)
    fuzz_req = median(r.spend("requests") - _before_checks(r.run) for r in fz)
    cli_wall, cli_in = median(c.wall for c in cli), median(c.reported for c in cli)
    cli_req = median(c.requests for c in cli)
    fuzz_ms, cli_ms = 1000 * fuzz_in / fuzz_req, 1000 * cli_in / cli_req
    print(
        table(
            ["run", "runs", "wall s", "in-run s", "requests", "in-run ms/request", "exit"],
            [
                ["suite -m fuzz", len(fz), fuzz_wall, fuzz_in, int(fuzz_req), fuzz_ms,
                 exits(r.exit_code for r in fz)],
                ["schemathesis CLI", len(cli), cli_wall, cli_in, int(cli_req), cli_ms,
                 exits(c.exit_code for c in cli)],
                ["ratio suite/CLI", "", fuzz_wall / cli_wall, fuzz_in / cli_in, "",
                 fuzz_ms / cli_ms, ""],
            ],
        )
    )  # fmt: skip
    print(
        "in-run: the suite's run.duration_s less its setup_s (start-up, collection, preflight, "
        "model choice),\nthe CLI's own 'in N s'. Requests: the suite's fuzz requests (its "
        "spend less the preflight's and the model choice's),\nthe CLI's as "
        "counted by the bench's server.\nOne --max-examples for the CLI (the suite's largest "
        "standard count); the CLI also sends every\ncoverage case and valid image requests, "
        "which the suite's standard profile samples or skips."
    )
    if any(c.exit_code for c in cli):
        print(f"CLI output (last run): {cli[-1].tail}")

    # 3. Client overhead.
    heading("3. Per-request overhead: ApexClient.call against a bare httpx.Client")
    rows = [
        [name, cost.requests, us, median(cost.ratios[name]),
         f"{min(cost.ratios[name]):.2f}-{max(cost.ratios[name]):.2f}"]
        for name, us in cost.us.items()
    ]  # fmt: skip
    print(table(["client", "requests", "us/request", "ratio", "ratio range"], rows))
    blocks = cost.requests // OVERHEAD_BLOCK
    print(
        "GET /models, distinct query strings, against the bench's in-process reference "
        f"(ServerThread);\n{blocks} blocks of {OVERHEAD_BLOCK} per client in turn; ratio = median "
        "of the per-block ratios to bare httpx.\nThe plugin renders transcript and curl only "
        "for checks that do not pass (the last row)."
    )
    ratio = median(cost.ratios["ApexClient.call"])
    targets.append(("client overhead <= 1.3x", f"{ratio:.2f}x", ratio <= 1.3))

    # 4. SSE reader.
    heading("4. SSE reader throughput: EventStreamReader against httpx-sse")
    progress("SSE readers")
    body, chunks = recorded_stream(SSE_EVENTS, SEED)
    expected = read_with_reader(chunks)
    if expected != read_with_httpx_sse(chunks) or len(expected) != SSE_EVENTS + 1:
        raise SystemExit("the two readers disagree on the recorded stream")
    readers = {"EventStreamReader": read_with_reader, "httpx-sse": read_with_httpx_sse}
    times: dict[str, list[float]] = {name: [] for name in readers}
    for rep in range(sse_reps):
        order = list(readers) if rep % 2 == 0 else list(reversed(readers))
        for name in order:
            times[name].append(time_once(readers[name], chunks))
    peaks = {name: peak_memory(fn, chunks) for name, fn in readers.items()}
    mb = len(body) / 1e6
    speed = median(times["httpx-sse"]) / median(times["EventStreamReader"])
    rows = []
    for name in readers:
        t = median(times[name])
        relative = speed if name == "EventStreamReader" else 1.0
        rows.append(
            [
                name, sse_reps, t * 1000, mb / t, f"{len(expected) / t:,.0f}",
                f"{peaks[name] / 1e6:.1f}", f"{relative:.2f}x",
            ]
        )  # fmt: skip
    print(
        table(["reader", "reps", "ms", "MB/s", "events/s", "peak MB", "speed vs httpx-sse"], rows)
    )
    print(
        f"{len(expected):,} events ({SSE_EVENTS:,} chunks and [DONE]), {mb:.1f} MB in "
        f"{len(chunks):,} pieces of 1-{SSE_MAX_CHUNK} random bytes (seed {SEED});\n"
        "both readers give the same data; httpx-sse is fed as EventSource.iter_sse reads (httpx "
        "TextDecoder,\nSSELineDecoder, SSEDecoder); peak: tracemalloc over one read, events kept"
    )
    targets.append(("SSE reader >= httpx-sse", f"{speed:.2f}x", speed >= 1.0))

    # 5. Serial against -n 2.
    heading("5. Standard profile: serial against pytest-xdist -n 2")
    print(f"command: {shown(suite_command('standard', ['-n', '2']))}")
    serial = Medians.of("serial", results["standard"])
    parallel = Medians.of("-n 2", results["standard -n 2"])
    print(table(PROFILE_HEADERS, [serial.row(), parallel.row()]))
    speedup = serial.wall / parallel.wall
    print(f"speed-up of -n 2 (wall): {speedup:.2f}x (serial: the runs of table 1)")

    if args.latency == "with":
        latency_section()

    heading("Targets")
    print(table(["target", "measured", "status"], [(t, m, status(ok)) for t, m, ok in targets]))
    return 0 if all(ok for _, _, ok in targets) else 1


def latency_section() -> int:
    """Section 6: wall times against a slow reference, serial and concurrent, and the limit."""
    heading("6. Latency-bound runs: the reference answering every request after a delay")
    runs = latency.measure(latency.LATENCIES, latency.PROFILES, SEED, progress)
    print(table(latency.HEADERS, latency.rows(runs)))
    print(
        "serial: --concurrency=1; limit: the run's chain of requests that wait for one another "
        "(the rounds\nbefore the waves, one per wave, the requests after them; summary.json "
        "run.requests_in_flight) x the latency;\nrequests: serial/default; verdicts: whether "
        "every requirement got the same verdict in both runs.\nThe serial runs of a latency "
        "go side by side in the background; the concurrent ones one at a time beside them."
    )
    return 0


def _before_checks(run: dict[str, Any]) -> int:
    """Requests the run sent before its first check (preflight, model choice)."""
    flight = run.get("requests_in_flight") or {}
    return int(flight.get("requests_before_waves", 0))


def progress(text: str) -> None:
    """Progress on stderr, so stdout is the report alone."""
    print(f"  {text} ...", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
