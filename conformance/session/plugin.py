"""The pytest plugin: options, the target, verdicts per requirement level, reports and the gate."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import shutil
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import conformance.contract
from conformance.catalogue import MODEL_PARAMETERS, requirements
from conformance.config import options
from conformance.config.settings import DEFAULT_MAX_REQUESTS, env
from conformance.config.target import Target
from conformance.evidence.har import id_of
from conformance.evidence.recorder import Evidence, replay_target
from conformance.fuzzing.hooks import PlannedFuzzTests, ReplayedFuzzTests
from conformance.report import records
from conformance.report.matrix import PROFILE_SKIP
from conformance.report.stub import clear_reports, write_stub_reports
from conformance.report.summary import ReportInputs, load_inputs
from conformance.session.cmdline import report_option_errors, restart_if_misread
from conformance.session.finish import latency_samples, write_reports
from conformance.session.interrupt import Interrupts
from conformance.session.model_choice import Models, ModelSelectionError, choose_models
from conformance.session.model_kinds import select_models
from conformance.session.planning import plan
from conformance.session.preflight import Stop, preflight
from conformance.session.progress import live_progress
from conformance.session.state import STATE, RunState
from conformance.transport.client import CouldNotJudge
from conformance.transport.redact import redact_text
from conformance.vocabulary import LEVEL_RANK

CONTRACT_DIR = Path(conformance.contract.__file__).resolve().parent
# The --waivers and --compare files, read once on the controller before any request.
_INPUTS = pytest.StashKey[ReportInputs]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # The earliest a plugin runs: before any test file is collected.
    restart_if_misread(early_config)
    report_option_errors(early_config, parser, args)


def _runs_contract(config: pytest.Config) -> bool:
    """True when this session collects the conformance checks (not only the self-tests)."""
    for arg in config.args:
        if config.option.pyargs and arg.split("::")[0].startswith("conformance.contract"):
            return True
        path = Path(arg.split("::")[0]).resolve()
        if path == CONTRACT_DIR or CONTRACT_DIR in path.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): requirement IDs this check judges")
    config.addinivalue_line("markers", "fuzz: schemathesis fuzzing of the OpenAPI description")
    config.addinivalue_line("markers", "profile(name): smallest profile that runs this check")
    config.addinivalue_line("markers", "after_all: runs after every other check (judges them all)")
    config.addinivalue_line("markers", "family(name): the generated check family of this check")
    if not _runs_contract(config):
        return
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        # Before anything is sent: a usage error leaves reports that say so, not old ones.
        report_dir = _usable_report_dir(config)
        try:
            _configure_run(config, report_dir)
        except pytest.UsageError as exc:
            target = config.getoption("base_url", None) or env("APEX_BASE_URL") or "-"
            write_stub_reports(report_dir, "usage-error", str(exc), redact_text(str(target)))
            raise
    else:
        _configure_run(config, None)


def _usable_report_dir(config: pytest.Config) -> Path:
    """The report folder, created, proven writable and cleared of an earlier run's reports."""
    report_dir = Path(options.value(config, "--report-dir"))
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        probe = report_dir / ".apex-write-test"
        probe.write_text("", "utf-8")
        probe.unlink()
    except OSError as exc:
        raise pytest.UsageError(
            f"--report-dir={report_dir} is not a writable folder: {exc.strerror or exc}"
        ) from None
    return report_dir


def _configure_run(config: pytest.Config, report_dir: Path | None) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    target = _resolve_target(config)
    settings = options.build_settings(config, target.base_url, target.api_key, target.embedded)
    workers = int(workerinput["workercount"]) if workerinput else _xdist_workers(config)
    if workerinput is None:
        inputs = load_inputs(options.value(config, "--waivers"), options.value(config, "--compare"))
        config.stash[_INPUTS] = inputs
        # After --compare is read: it may well be the previous run's summary.json.
        clear_reports(settings.report_dir)
        # xdist workers count requests and space them through files in a shared folder.
        shared = Path(tempfile.mkdtemp(prefix="apex-run-")) if workers > 1 else None
        state = RunState(settings=settings, target=target, workers=workers, shared_dir=shared)
    else:
        state = RunState(
            settings=settings,
            target=target,
            workers=workers,
            shared_dir=Path(shared) if (shared := workerinput["apex_shared_dir"]) else None,
        )
        if workerinput.get("apex_stopped"):
            outcome, message = workerinput["apex_stopped"]
            state.stopped = (str(outcome), str(message))
        if workerinput.get("apex_models"):
            state.use_models(Models(**workerinput["apex_models"]))
        state.client.seed_cache(workerinput["apex_cache"])
    config.stash[STATE] = state
    state.interrupts = Interrupts(state.limiter.halted, report_dir)
    state.interrupts.install()
    config.pluginmanager.register(Evidence(config, state), "apex-conformance-evidence")
    config.pluginmanager.register(_Recorder(state), "apex-conformance-recorder")
    planned = PlannedFuzzTests()
    config.pluginmanager.register(planned, "apex-conformance-planned-fuzz")
    config.pluginmanager.register(ReplayedFuzzTests(planned), "apex-conformance-replayed-fuzz")
    if config.option.reportchars == _PYTEST_REPORTCHARS:
        # The compliance section lists what failed and what could not be judged, and ends
        # the output with the verdict: pytest's one line per check would bury it.
        config.option.reportchars = ""
    if config.option.tbstyle == "auto":
        # Verdicts replace pytest's tracebacks with their own words, so skip building them:
        # a long traceback per check costs seconds on a target that fails everything.
        config.option.tbstyle = "line"
    if report_dir is not None and not config.option.htmlpath:
        config.option.htmlpath = str(report_dir / "conformance.html")
        config.option.self_contained_html = True


_PYTEST_REPORTCHARS = "fE"  # pytest's default -r


def _xdist_workers(config: pytest.Config) -> int:
    """How many xdist workers this (controller) run starts; 1 without xdist."""
    count = getattr(config.option, "numprocesses", None)
    if not count or getattr(config.option, "dist", "no") == "no":
        return 1
    if config.option.dist == "load":
        # Checks of one module share answers (module fixtures): keep them on one worker.
        config.option.dist = "loadfile"
    return int(count)


def _resolve_target(config: pytest.Config) -> Target:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and "apex_base_url" in workerinput:
        return Target(workerinput["apex_base_url"], workerinput["apex_api_key"], embedded=True)
    replayed = replay_target(config)
    if replayed is not None:
        return replayed  # a recorded run, re-judged offline: no server, no request
    base_url = config.getoption("base_url", None) or env("APEX_BASE_URL")
    if not base_url:
        # Imported here: the server's web stack is loaded only when it is needed.
        from conformance.session.embedded import start_embedded

        return start_embedded()
    options.check_base_url(str(base_url))
    api_key = options.value(config, "--api-key")
    if not api_key:
        raise pytest.UsageError(
            f"--base-url={base_url} needs an API key: set APEX_API_KEY (or pass --api-key)"
        )
    return Target(str(base_url), api_key, embedded=False)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Workers share the controller's server, models, first answers, budget and rate."""
    state = node.config.stash.get(STATE, None)
    if state is None:
        return
    if state.target.embedded:
        node.workerinput["apex_base_url"] = state.target.base_url
        node.workerinput["apex_api_key"] = state.target.api_key
    node.workerinput["apex_shared_dir"] = str(state.shared_dir) if state.shared_dir else None
    node.workerinput["apex_stopped"] = state.stopped
    node.workerinput["apex_models"] = dataclasses.asdict(state.models) if state.models else None
    node.workerinput["apex_cache"] = state.client.export_cache()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state = node.config.stash.get(STATE, None)
    output = getattr(node, "workeroutput", {})
    if state is None:
        return
    if output.get("apex_spend"):
        state.worker_spend.append(output["apex_spend"])
    state.worker_latency += output.get("apex_latency") or []
    if output.get("apex_cost"):
        state.worker_cost.append(output["apex_cost"])
    if state.models is None and output.get("apex_models"):
        state.models = Models(**output["apex_models"])


class _Recorder:
    """Collects one record per check on the controller (workers send their reports there)."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """After a failed preflight no check runs: each would only repeat its message.

        Checks marked `after_all` go last: they judge every answer the run received.
        """
        if self.state.stopped is not None:
            # Dropped, not "deselected" (pytest's word for the user's -k/-m): the terminal
            # then ends "no tests ran" under the message that says why.
            items.clear()
        items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = records.properties(report)
        if props.get(records.VERDICT) is None:
            return
        record = records.record_from(report)
        if record is not None:
            self.state.records.append(record)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(STATE, None)
    if state is None:
        return []
    s = state.settings
    return [
        f"apex-conformance target: {state.target.describe()}",
        f"apex-conformance profile={s.profile} fail-on={s.fail_on} seed={s.seed} "
        f"max-requests={s.max_requests} reports={s.report_dir}/",
    ]


def requirement_ids(item: pytest.Item) -> list[str]:
    return [str(i) for mark in item.iter_markers("requirement") for i in mark.args]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    from conformance.catalogue import item_check_id

    catalogue = requirements()
    for item in items:
        ids = requirement_ids(item)
        unknown = [i for i in ids if i not in catalogue]
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid} names requirements not in the catalogue: {unknown}"
            )
        if not ids:
            continue
        level = max((catalogue[i].level for i in ids), key=LEVEL_RANK.__getitem__)
        item.user_properties += [
            (records.REQUIREMENTS, ",".join(ids)),
            (records.LEVEL, level),
            (records.CHECK, item_check_id(item) or ""),
        ]
        marker = item.get_closest_marker("profile")
        needed = (
            str(marker.args[0])
            if marker
            else min((catalogue[i].profile for i in ids), key=("smoke", "standard", "full").index)
        )
        if not state.settings.includes(needed):  # type: ignore[arg-type]
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{PROFILE_SKIP}{needed} (this run: --profile={state.settings.profile})"
                )
            )


def pytest_sessionstart(session: pytest.Session) -> None:
    """The preflight before any check: a user's mistake gets one message, not a hundred.

    Under xdist the controller also chooses the models once, so every worker tests the same
    ones and none repeats the probes (an image probe costs real images).
    """
    config = session.config
    state = config.stash.get(STATE, None)
    if state is not None and state.interrupts is not None:
        state.interrupts.session = session
    if state is None or hasattr(config, "workerinput") or config.option.collectonly:
        return
    try:
        with live_progress(config, state.spend, state.settings.max_requests, state.client.inflight):
            _preflight_and_models(state)
    except (Stop, CouldNotJudge) as exc:
        # No pytest.exit here: it would skip pytest_sessionfinish, and so every report.
        # No check runs instead, and the gate reports the one message.
        stop = exc if isinstance(exc, Stop) else Stop("could-not-judge", str(exc))
        state.stopped = (stop.outcome, stop.message)
        # The terminal's header comes after this hook: the message should not drown in it.
        config.option.no_header = True


def _preflight_and_models(state: RunState) -> None:
    preflight(state.client)
    if state.settings.models != "cheapest":
        # Before collection: each model-dependent check is collected once per model.
        state.use_models(_selected_models(state))
    elif state.shared_dir is not None:
        state.use_models(choose_models(state.client))
    else:
        state.choose_models_meanwhile()


def _selected_models(state: RunState) -> Models:
    settings = state.settings
    try:
        return select_models(state.client, settings.models)
    except ModelSelectionError as exc:
        raise Stop("usage-error", str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """The models first, then (--concurrency above 1) the checks' requests in waves."""
    state = session.config.stash.get(STATE, None)
    config = session.config
    if (
        state is not None
        and state.stopped is None
        and not hasattr(config, "workerinput")
        and not config.option.collectonly
        and session.items
    ):
        with live_progress(config, state.spend, state.settings.max_requests, state.client.inflight):
            _models_then_waves(session, state)
    return (yield)


def _models_then_waves(session: pytest.Session, state: RunState) -> None:
    config = session.config
    # One request after another: every model-dependent check waits for them, and
    # planning each probe as a wave would rerun every check per probe.
    with contextlib.suppress(CouldNotJudge):
        state.chosen_models()
    state.checks_started = time.monotonic()
    if _plans_ahead(config, state):
        state.waves = plan(session, state.client.dispatch, state.spend, state.client.timeline)


def _plans_ahead(config: pytest.Config, state: RunState) -> bool:
    """Whether the checks' requests are sent ahead of them (--concurrency above 1).

    Not where the order of the requests decides the verdicts: under -x / --maxfail a serial
    run stops at the first failure and sends nothing after it, and a budget the user set
    below the profile's own (or a --max-cost) cuts the run at the check a serial run reaches
    when it is spent. Sent ahead, other requests would have taken its place.
    """
    settings = state.settings
    tight_budget = (
        options.value(config, "--max-requests") is not None
        and settings.max_requests < DEFAULT_MAX_REQUESTS[settings.profile]
    ) or settings.max_cost is not None
    return (
        settings.concurrency > 1
        and state.workers == 1
        and not config.getoption("usepdb", False)
        and not config.option.maxfail
        and not tight_budget
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE, None)
    if state is not None and state._client is not None:
        state._client.touched.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = item.config.stash.get(STATE, None)
    if state is None:
        return report
    if state._client is not None and state._client.dispatch.planning:
        return report  # an unreported planning run (conformance.session.planning)
    props = dict(item.user_properties)
    judged = records.LEVEL in props and (report.when == "call" or not report.passed)
    if judged and not (report.when == "teardown" and not report.failed):
        _judge(item, call, report, state, props)
    _redact_report(report)
    return report


def _redact_report(report: pytest.TestReport) -> None:
    """Tracebacks and captured output quote target responses: no key may reach a report."""
    if report.longrepr is not None:
        text = report.longreprtext
        if redact_text(text) != text:
            report.longrepr = redact_text(text)
    report.sections = [(name, redact_text(body)) for name, body in report.sections]


def _judge(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    state: RunState,
    props: dict[str, object],
) -> None:
    """Turn a check's outcome into its verdict by requirement level, with its transcript."""
    level = str(props[records.LEVEL])
    verdict, message = _verdict(report, call, level, state.settings.fail_on)
    if verdict == "info" and not message:
        message = "\n".join(str(v) for k, v in item.user_properties if k == records.OBSERVATION)
    if verdict in ("warned", "info"):
        report.outcome = "passed"
    if verdict in ("failed", "error") and call.excinfo is not None:
        # The verdict's own words, not a traceback wall: the transcript section follows.
        report.longrepr = f"{verdict.upper()} [{','.join(_ids(props))} {level}] {message}"
    extra: list[tuple[str, object]] = [(records.VERDICT, verdict), (records.MESSAGE, message)]
    model = _judged_model(item, state)
    if model:
        extra.append((records.MODEL, model))
    if verdict in ("failed", "warned", "error", "info") and state._client is not None:
        touched = state._client.touched[-3:]
        if touched:
            transcript = "\n\n".join(exchange.transcript() for exchange in touched)
            extra += [(records.TRANSCRIPT, transcript), (records.CURL, touched[-1].curl())]
            extra.append((records.EXCHANGES, [id_of(e) for e in state._client.touched]))
            report.sections.append(("Transcript (Authorization redacted)", transcript))
            report.sections.append(("Reproduce", touched[-1].curl()))
    report.user_properties = [*report.user_properties, *extra]


def _judged_model(item: pytest.Item, state: RunState) -> str:
    """The model a model-dependent check judged: its --models parameter, or the run's."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    names = getattr(item, "fixturenames", ())
    for name, surface in MODEL_PARAMETERS.items():
        if name in params:
            return str(params[name])
        if name in names and state.models is not None:
            return str(getattr(state.models, surface) or "")
    return ""


def _ids(props: dict[str, object]) -> list[str]:
    return str(props.get(records.REQUIREMENTS, "")).split(",")


def _verdict(
    report: pytest.TestReport, call: pytest.CallInfo[None], level: str, fail_on: str
) -> tuple[str, str]:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return "skipped", reason.removeprefix("Skipped: ")
    if report.passed:
        return ("info", "") if level == "INFO" else ("passed", "")
    excinfo = call.excinfo
    message = str(excinfo.value) if excinfo is not None else report.longreprtext
    if excinfo is not None and excinfo.errisinstance(CouldNotJudge):
        return "error", message
    if report.when != "call":
        return "error", f"the suite failed in {report.when}: {message}"
    if level == "INFO":
        return "info", message
    if level == "SHOULD" and fail_on == "must":
        return "warned", message
    return "failed", message


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, Any] | None:
    verdict = records.properties(report).get(records.VERDICT)
    if verdict == "warned":
        return "warned", "W", ("WARNED", {"yellow": True})
    if verdict == "info":
        return "info", "i", "INFO"
    if verdict == "error":
        # Not pytest's "error": no traceback block and summary line each; the compliance
        # section lists them once per cause, above the verdict.
        return NOT_JUDGED, "E", ("NOT JUDGED", {"yellow": True})
    return None


NOT_JUDGED = "not judged"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        _hint_outside_repository(session, exitstatus)
        return
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["apex_spend"] = state.spend.as_dict()
        samples = latency_samples(state.client.answers(own=True))
        workeroutput["apex_latency"] = [dataclasses.asdict(sample) for sample in samples]
        workeroutput["apex_cost"] = str(state.budget.cost.spent)
        if state.models is not None:
            workeroutput["apex_models"] = dataclasses.asdict(state.models)
        state.close()
        return
    interrupted = state.interrupts is not None and state.interrupts.interrupted
    if interrupted:
        # Whatever caught the KeyboardInterrupt on its way, the run was stopped.
        exitstatus = pytest.ExitCode.INTERRUPTED
    state.close(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    if state.shared_dir is not None:
        shutil.rmtree(state.shared_dir, ignore_errors=True)
    if config.option.collectonly:
        return
    if state.stopped is None and exitstatus in _STOPS:
        outcome, why = _STOPS[exitstatus]
        state.stopped = (outcome, why.format(checks=len(state.records)))
    other_failures = session.testsfailed - sum(
        1 for r in state.records if r.verdict in ("failed", "error")
    )
    gate = write_reports(state, config.stash[_INPUTS], max(0, other_failures))
    session.exitstatus = gate.exit_code


_STOPS: dict[int, tuple[str, str]] = {
    pytest.ExitCode.INTERRUPTED: (
        "interrupted",
        "the run was interrupted after {checks} checks: the verdicts are partial",
    ),
    pytest.ExitCode.INTERNAL_ERROR: (
        "internal-error",
        "the suite hit an internal error after {checks} checks (see its output); "
        "the verdicts are partial",
    ),
    pytest.ExitCode.USAGE_ERROR: ("usage-error", "a usage error stopped the run"),
}


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.interrupts is not None:
        state.interrupts.restore()


def _hint_outside_repository(session: pytest.Session, exitstatus: int) -> None:
    """`pytest --base-url=...` where no checks are collected: say how to run the installed suite."""
    config = session.config
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return
    if not (config.getoption("base_url", None) or env("APEX_BASE_URL")):
        return
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(
            "apex-conformance: no conformance checks are collected here. Run the installed "
            "suite with `apex-conformance run --base-url=...` "
            "(or `pytest --pyargs conformance.contract --base-url=...`)."
        )
    session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or hasattr(config, "workerinput") or state.summary is None:
        return
    from conformance.report.terminal import summary_lines

    terminalreporter.section("apex-conformance compliance")
    for line in summary_lines(state.summary):
        terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: Any) -> None:
    report.title = "ApexApi compliance report"


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and state.summary is not None:
        from conformance.report.html import matrix_html

        prefix.append(matrix_html(state.summary))


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: pytest.TestReport, cells: list[str]) -> None:
    """The row's result is the check's verdict: pytest-html knows only pass and fail."""
    verdict = records.properties(report).get(records.VERDICT)
    if report.when == "call" and verdict in ("warned", "info", "error") and cells:
        cells[0] = f'<td class="col-result">{str(verdict).capitalize()}</td>'


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_html(report: pytest.TestReport, data: list[str]) -> None:
    """A skipped check's row says why, not pytest's (absolute path, line, reason) tuple."""
    if report.skipped and isinstance(report.longrepr, tuple):
        data[:] = [html.escape(str(report.longrepr[2]).removeprefix("Skipped: "))]
