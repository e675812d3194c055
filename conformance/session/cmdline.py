"""The suite's options written with a space (`--waivers /elsewhere/w.yaml`) read as meant.

pytest finds its rootdir and ini file before it loads plugins, so it reads the value of a
plugin's option as a file or folder to collect. When that value names an existing path, the
rootdir moves there, the project's ini file (testpaths, addopts) is lost and the whole
checkout is collected. Written `--waivers=/elsewhere/w.yaml`, nothing is misread: the
command is started again in that form before anything is collected or sent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance.config.options import OPTIONS, _dest

# The suite's options and those of the plugins it brings that take a value (pytest's own
# options are known early enough).
VALUE_FLAGS = frozenset({"--base-url", "--html", "--css", *(o.flag for o in OPTIONS)})


def with_equals(args: Sequence[str]) -> list[str]:
    """`args` with each `--flag value` whose value is an existing path as `--flag=value`."""
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return [*out, *args[index:]]
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in VALUE_FLAGS and following is not None and _exists(following):
            out.append(f"{arg}={following}")
            index += 2
        else:
            out.append(arg)
            index += 1
    return out


def _exists(value: str) -> bool:
    try:
        return Path(value).exists()
    except (OSError, ValueError):
        return False


def restart_if_misread(config: pytest.Config) -> None:
    """Start the command again with `--flag=value` where pytest misread `--flag value`.

    From a command line the process is replaced (nothing has been collected or sent yet);
    inside another program's pytest.main the caller is told how to write it.
    """
    if hasattr(config, "workerinput"):
        return  # an xdist worker gets the controller's options already parsed
    args = list(config.invocation_params.args)
    fixed = with_equals(args)
    if fixed == args:
        return
    if tuple(sys.argv[1:]) != tuple(args):
        written = ", ".join(f for f in fixed if f not in args)
        raise pytest.UsageError(f"write path options with '=' ({written}) when calling pytest.main")
    # pytest already captures the output at the file-descriptor level: give it back first.
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.stop_global_capturing()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *fixed])


def report_option_errors(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Reports that say so for an option pytest itself will refuse (an unknown option, a
    missing value): pytest stops on them before any plugin could write a report."""
    if hasattr(config, "workerinput") or not _runs_contract(config):
        return
    try:
        _, unknown = parser.parse_known_and_unknown_args(list(args))
    except pytest.UsageError as exc:
        _write_stub(config, str(exc))
        raise
    flags = [arg for arg in unknown if arg.startswith("-")]
    if flags:
        _write_stub(config, f"unrecognized arguments: {' '.join(flags)}")


def _runs_contract(config: pytest.Config) -> bool:
    """True when the checks will be collected: no path given (testpaths), or theirs."""
    given = config.known_args_namespace.file_or_dir
    if not given:
        return any("conformance/contract" in path for path in config.getini("testpaths"))
    return any("conformance" in arg and "contract" in arg for arg in given)


def _write_stub(config: pytest.Config, reason: str) -> None:
    from conformance.config.settings import env
    from conformance.report.stub import write_stub_reports
    from conformance.transport.redact import redact_text

    known = config.known_args_namespace
    report_dir = getattr(known, _dest("--report-dir"), None) or env("APEX_REPORT_DIR")
    target = getattr(known, "base_url", None) or env("APEX_BASE_URL") or "-"
    try:
        folder = Path(report_dir or _default_report_dir())
        folder.mkdir(parents=True, exist_ok=True)
        write_stub_reports(folder, "usage-error", reason, redact_text(str(target)))
    except OSError:
        pass  # pytest's own message still says what is wrong


def _default_report_dir() -> str:
    return str(next(o.default for o in OPTIONS if o.flag == "--report-dir"))
