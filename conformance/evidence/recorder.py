"""The pytest side of the evidence: which checks used each exchange, the recording and the HAR
written at the end of a run, and a re-judging run's target and client set up offline."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance.config import options
from conformance.config.target import Target
from conformance.evidence.har import Sent, har_log, id_of
from conformance.evidence.masking import stand_in_key
from conformance.evidence.replay import NOT_RECORDED, RECORDING, Replay, load_recording
from conformance.report.records import CHECK
from conformance.session.finish import configuration
from conformance.session.state import RunState
from conformance.transport.client import CouldNotJudge
from conformance.transport.limits import Budget

HAR_FILE = "conformance.har"
# Worker output key: each xdist worker's entries, merged on the controller.
_WORKER_KEY = "apex_recording"


def replay_target(config: pytest.Config) -> Target | None:
    """The recorded run's target under --replay (no server starts), else None."""
    source = options.value(config, "--replay")
    if not source:
        return None
    try:
        run = load_recording(Path(source))["_apexRun"]
    except ValueError as exc:
        raise pytest.UsageError(f"--replay={source}: {exc}") from None
    return Target(str(run["target"]), str(run["stand_in_key"]), embedded=bool(run["embedded"]))


class _Unsendable(Budget):
    """A re-judging run's budget: any request that reaches the network is refused."""

    def take(self) -> bool:
        raise CouldNotJudge(
            f"{NOT_RECORDED}: a request sent outside the suite's client has no recorded answer"
        )


class Evidence:
    """Notes the checks each exchange served; writes the recording (and the HAR) at the end."""

    def __init__(self, config: pytest.Config, state: RunState) -> None:
        self.config = config
        self.state = state
        self.replaying = bool(options.value(config, "--replay"))
        self.checks: defaultdict[str, set[str]] = defaultdict(set)
        self.remote: list[dict[str, Any]] = []
        har = options.value(config, "--har")
        if har and not hasattr(config, "workerinput"):
            try:
                Path(har).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise pytest.UsageError(
                    f"--har={har}: cannot create its folder: {exc.strerror or exc}"
                ) from None
        if self.replaying:
            log = load_recording(Path(options.value(config, "--replay")))
            state.budget = _Unsendable(0, None, state.settings.max_cost)
            state.client.replay = Replay(log, state.settings.api_key)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        client = self.state._client
        if call.when == "teardown" and client is not None and not client.dispatch.planning:
            check = str(dict(item.user_properties).get(CHECK) or item.nodeid)
            for exchange in client.touched:
                self.checks[id_of(exchange)].add(check)
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.remote += getattr(node, "workeroutput", {}).get(_WORKER_KEY) or []

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.replaying or self.state._client is None or self.config.option.collectonly:
            return
        log = self.log()
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_WORKER_KEY] = log["log"]["entries"]
            return
        self.write(log)

    def log(self) -> dict[str, Any]:
        """The run as a HAR log: this process's exchanges, and the workers' under xdist."""
        state = self.state
        key = state.settings.api_key
        sent = [
            Sent(exchange, auth, tuple(self.checks.get(id_of(exchange), ())))
            for exchange, auth in state.client.sent()
        ]
        run = {
            "target": state.settings.base_url,
            "embedded": state.settings.embedded,
            "stand_in_key": stand_in_key(key),
            "started": state.started.isoformat(timespec="seconds"),
            "config": configuration(state.settings),
            "keyword": self.config.option.keyword,
            "markexpr": self.config.option.markexpr,
        }
        log = har_log(sent, key, run)
        log["log"]["entries"] = _merged(log["log"]["entries"] + self.remote)
        return log

    def write(self, log: dict[str, Any]) -> None:
        report_dir = self.state.settings.report_dir
        data = json.dumps(log, ensure_ascii=False).encode("utf-8")
        (report_dir / RECORDING).write_bytes(gzip.compress(data, mtime=0))
        har = options.value(self.config, "--har")
        if har is None and self.state.settings.profile == "full":
            har = str(report_dir / HAR_FILE)
        if har:
            Path(har).write_text(json.dumps(log, ensure_ascii=False, indent=1), "utf-8")


def _merged(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per request (a worker holds the controller's first answers too), with the
    checks of every process that used it, in the order they were sent."""
    by_id: dict[str, dict[str, Any]] = {}
    for entry in entries:
        kept = by_id.setdefault(entry["_apexId"], entry)
        kept["_apexChecks"] = sorted({*kept["_apexChecks"], *entry["_apexChecks"]})
    return sorted(by_id.values(), key=lambda entry: entry["startedDateTime"])
