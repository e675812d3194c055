"""The apex-conformance command: run the suite, serve the reference, prove the checks, merge
shards and draw their trend, re-judge a recorded run, bundle and verify the evidence."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from conformance.config.settings import env

EXIT_USAGE = 4  # as pytest's usage error, so every command means the same by it


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.auth import KEY_FORM
    from conformance.reference.faults import FAULTS, VARIANTS, check_names
    from conformance.reference.runner import serve

    if args.list_faults:
        for name, fault in FAULTS.items():
            print(f"{name:34} {','.join(fault.breaks):22} {fault.description}")
        for name, description in VARIANTS.items():
            print(f"{name:34} {'(conforming)':22} {description}")
        return 0
    key = args.api_key or env("APEX_API_KEY")
    if not key:
        return _usage("serve: set APEX_API_KEY or pass --api-key")
    if not KEY_FORM.fullmatch(key):
        # Said here, not by a suite that would judge the server's key handling against it.
        return _usage(
            f"serve: the key is not of the documented form: ak- and 45 characters, "
            f"48 in all (this one has {len(key)})"
        )
    try:
        check_names(args.fault)
    except ValueError as exc:
        return _usage(f"serve: {exc} (apex-conformance serve --list-faults lists them)")
    try:
        serve(args.port, key, list(args.fault))
    except OSError as exc:
        return _usage(f"serve: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    return 0


def _usage(message: str) -> int:
    print(f"apex-conformance {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(extra: list[str]) -> int:
    """The suite in a pytest process of its own, leaving nothing in the user's folder.

    Its own process: this one has imported the package, which pytest, finding it installed
    as a wheel, would warn it cannot rewrite the asserts of.
    """
    from conformance.session.cmdline import with_equals

    if "-h" in extra or "--help" in extra:
        _print_suite_options()
        sys.stdout.flush()
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    command += ["--pyargs", "conformance.contract", *with_equals(extra)]
    with tempfile.TemporaryDirectory(prefix="apex-hypothesis-") as home:
        # Hypothesis keeps a cache in ./.hypothesis unless told where.
        variables = {"HYPOTHESIS_STORAGE_DIRECTORY": home, **os.environ}
        process = subprocess.Popen(command, env=variables)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue  # pytest got the Ctrl-C too: it ends the run and reports it


def _print_suite_options() -> None:
    """The suite's own options, before pytest's long list."""
    from conformance.config.options import OPTIONS

    print("apex-conformance run [options] [pytest options]\n\nSuite options:")
    print(f"  {'--base-url=URL':28} target base URL ending in /v1 [env APEX_BASE_URL]")
    for option in OPTIONS:
        default = "" if option.default is None else f" (default {option.default})"
        print(f"  {option.flag:28} {option.help}{default} [env {option.env}]")
    print("\npytest's own options follow.\n")


def _report(args: argparse.Namespace) -> int:
    """Re-render an earlier run's HTML report from its summary.json alone."""
    import json
    from pathlib import Path

    from conformance.report.html import standalone_html

    source = Path(args.summary)
    try:
        summary = json.loads(source.read_text("utf-8"))
        page = standalone_html(summary)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _usage(f"report: {source} is not a readable summary.json: {exc}")
    out = Path(args.out) if args.out else source.parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "conformance.html").write_text(page, "utf-8")
    print(f"wrote {out / 'conformance.html'}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    """One report, with one gate, from the summary.json of runs over different shards."""
    from pathlib import Path

    import pytest

    from conformance.report.history import history_section, load_runs, save_run
    from conformance.report.html import standalone_html
    from conformance.report.junit import junit_xml
    from conformance.report.merge import MergeError, load_shard, merge
    from conformance.report.summary import load_inputs, write_summary
    from conformance.report.terminal import summary_lines

    out = Path(args.out)
    try:
        inputs = load_inputs(args.waivers, args.compare)
        gate, summary = merge([load_shard(spec) for spec in args.summaries], str(out), inputs)
    except (MergeError, pytest.UsageError) as exc:
        return _usage(f"merge: {exc}")
    if args.history:
        past, _ = load_runs(Path(args.history))
        summary["history"] = history_section(summary, past)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_summary(out, summary)
        (out / "conformance.html").write_text(standalone_html(summary), "utf-8")
        (out / "junit.xml").write_bytes(junit_xml(summary))
        if args.history:
            save_run(Path(args.history), summary)
    except OSError as exc:
        return _usage(f"merge: cannot write the reports to {out}: {exc.strerror or exc}")
    print("\n".join(summary_lines(summary)))
    return gate.exit_code


def _trend(args: argparse.Namespace) -> int:
    """The trend page of the runs a --history folder keeps."""
    from pathlib import Path

    from conformance.report.history import load_runs
    from conformance.report.trend import trend_html

    folder = Path(args.folder)
    if args.runs < 1:
        return _usage(f"trend: --runs={args.runs} must be at least 1")
    runs, skipped = load_runs(folder, args.runs)
    for name in skipped:
        print(f"apex-conformance trend: skipped {folder / name}: not a readable summary")
    if not runs:
        return _usage(
            f"trend: no run summaries in {folder} (a run with --history={folder} adds one)"
        )
    out = Path(args.out) if args.out else folder / "trend.html"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(trend_html(runs, str(folder)), "utf-8")
    except OSError as exc:
        return _usage(f"trend: cannot write {out}: {exc.strerror or exc}")
    print(f"wrote {out} ({len(runs)} runs)")
    return 0


def _rejudge(args: argparse.Namespace) -> int:
    """The current suite's checks against a recorded run, offline, and what changed."""
    from pathlib import Path

    from conformance.evidence.rejudge import change_lines, rejudge
    from conformance.evidence.replay import RecordingError
    from conformance.report.terminal import summary_lines

    source = Path(args.source)
    out = (
        Path(args.out) if args.out else (source if source.is_dir() else source.parent) / "rejudged"
    )
    try:
        result = rejudge(source, out)
    except (RecordingError, OSError) as exc:
        return _usage(f"rejudge: {exc}")
    print("\n".join([*summary_lines(result.summary), *change_lines(result)]))
    return result.exit_code


def _bundle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from conformance.evidence.bundle import BundleError, pack

    try:
        manifest = pack(Path(args.folder), Path(args.out))
    except (BundleError, OSError) as exc:
        return _usage(f"bundle: {exc}")
    for name, digest in manifest["files"].items():
        print(f"{digest}  {name}")
    print(f"wrote {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Check a bundle's hashes, re-judge its recording, then render its report and badge."""
    from pathlib import Path

    from conformance.evidence.badge import badge_svg
    from conformance.evidence.bundle import BundleError, verify
    from conformance.report.html import standalone_html

    bundle = Path(args.bundle)
    try:
        result = verify(bundle)
    except (BundleError, OSError) as exc:
        return _usage(f"verify: {exc}")
    for note in result.notes:
        print(f"note: {note}")
    if not result.verified or result.summary is None:
        print(f"NOT VERIFIED: {bundle}")
        print("\n".join(f"  {problem}" for problem in result.problems))
        return 1
    out = Path(args.out) if args.out else bundle.with_suffix(".verified")
    out.mkdir(parents=True, exist_ok=True)
    (out / "conformance.html").write_text(standalone_html(result.summary), "utf-8")
    (out / "badge.svg").write_text(badge_svg(result.summary), "utf-8")
    checks = len(result.summary["checks"])
    print(f"VERIFIED: {bundle}: hashes match, {checks} checks re-judged offline, same verdicts")
    print(f"wrote {out / 'conformance.html'} and {out / 'badge.svg'}")
    return 0


def _badge(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from conformance.evidence.badge import badge_svg
    from conformance.evidence.bundle import SUMMARY, BundleError, check_hashes, read_bundle

    bundle = Path(args.bundle)
    try:
        files = read_bundle(bundle)
    except BundleError as exc:
        return _usage(f"badge: {exc}")
    problems = check_hashes(files)
    if problems:
        return _usage(f"badge: {bundle} fails its manifest: {problems[0]}")
    out = Path(args.out) if args.out else bundle.with_suffix(".svg")
    out.write_text(badge_svg(json.loads(files[SUMMARY])), "utf-8")
    print(f"wrote {out}")
    return 0


def _selftest(args: argparse.Namespace) -> int:
    from conformance.reference.faults import check_names
    from conformance.reference.zoo import main as zoo_main

    if args.jobs < 1:
        return _usage(f"selftest: --jobs={args.jobs} must be at least 1")
    try:
        check_names(args.fault)
    except ValueError as exc:
        return _usage(f"selftest: {exc} (apex-conformance serve --list-faults lists them)")
    return zoo_main(jobs=args.jobs, only=args.fault)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="apex-conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the reference ApexApi server on 127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0: any free one)"
    )
    serve.add_argument(
        "--api-key",
        help="key the server accepts, of the documented form ak- and 45 characters "
        "(default: $APEX_API_KEY)",
    )
    serve.add_argument("--fault", action="append", default=[], help="break one rule (repeatable)")
    serve.add_argument("--list-faults", action="store_true", help="list faults and variants")
    commands.add_parser(
        "run", help="run the conformance suite; other arguments go to pytest", add_help=False
    )
    selftest = commands.add_parser("selftest", help="run the suite against every faulty server")
    selftest.add_argument("--jobs", type=int, default=2, help="processes to spread faults over")
    selftest.add_argument("--fault", action="append", default=[], help="only these faults")
    report = commands.add_parser("report", help="re-render the HTML report of a summary.json")
    report.add_argument("summary", help="the summary.json of an earlier run")
    report.add_argument("--out", help="folder for conformance.html (default: the summary's)")
    merge = commands.add_parser(
        "merge", help="merge the summary.json of shards into one report with one gate"
    )
    merge.add_argument(
        "summaries", nargs="+", metavar="[LABEL=]SUMMARY", help="each shard's summary.json"
    )
    merge.add_argument("--out", required=True, help="folder for the merged reports")
    merge.add_argument("--waivers", help="waiver file (default: the waivers the shards applied)")
    merge.add_argument("--compare", help="a previous summary.json to compare with")
    merge.add_argument("--history", help="a --history folder: show and keep the merged run")
    trend = commands.add_parser("trend", help="render the trend page of a --history folder")
    trend.add_argument("folder", help="the folder --history=DIR writes")
    trend.add_argument("--out", help="the page to write (default: DIR/trend.html)")
    trend.add_argument("--runs", type=int, default=50, help="the last N runs (default 50)")
    rejudge = commands.add_parser(
        "rejudge", help="re-judge a recorded run offline with this suite's checks"
    )
    rejudge.add_argument("source", help="a run's report folder, or the HAR the suite wrote")
    rejudge.add_argument("--out", help="folder for the new reports (default: SOURCE/rejudged)")
    bundle = commands.add_parser("bundle", help="pack a run's report folder into a bundle")
    bundle.add_argument("folder", help="the run's report folder (summary.json, recording)")
    bundle.add_argument("--out", required=True, help="the bundle file to write (.zip)")
    verify = commands.add_parser(
        "verify", help="check a bundle's hashes, re-judge it offline, render its report"
    )
    verify.add_argument("bundle", help="the bundle file")
    verify.add_argument("--out", help="folder for the report and badge (default: BUNDLE.verified)")
    badge = commands.add_parser("badge", help="the SVG badge of a bundle")
    badge.add_argument("bundle", help="the bundle file")
    badge.add_argument("--out", help="the SVG to write (default: BUNDLE.svg)")
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        return _run(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    commands_by_name = {
        "serve": _serve,
        "report": _report,
        "selftest": _selftest,
        "merge": _merge,
        "trend": _trend,
        "rejudge": _rejudge,
        "bundle": _bundle,
        "verify": _verify,
        "badge": _badge,
    }
    return commands_by_name[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
