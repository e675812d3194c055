"""The apex-conformance command: run the suite, serve the reference, prove the checks."""

from __future__ import annotations

import argparse
import sys

from conformance.settings import env


def _serve(args: argparse.Namespace) -> int:
    from conformance.reference.runner import serve

    key = args.api_key or env("APEX_API_KEY")
    if not key:
        print("apex-conformance serve: set APEX_API_KEY or pass --api-key", file=sys.stderr)
        return 2
    serve(args.port, key, list(args.fault))
    return 0


def _run(extra: list[str]) -> int:
    import pytest

    return int(pytest.main(["--pyargs", "conformance.contract", *extra]))


def _selftest(args: argparse.Namespace) -> int:
    from conformance.mutants import main as mutants_main

    return mutants_main(jobs=args.jobs, only=args.fault)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="apex-conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the reference ApexApi server on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key", help="key the server accepts (default: $APEX_API_KEY)")
    serve.add_argument("--fault", action="append", default=[], help="break one rule (repeatable)")
    commands.add_parser(
        "run", help="run the conformance suite; other arguments go to pytest", add_help=False
    )
    selftest = commands.add_parser("selftest", help="run the suite against every faulty server")
    selftest.add_argument("--jobs", type=int, default=2, help="processes to spread faults over")
    selftest.add_argument("--fault", action="append", default=[], help="only these faults")
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        return _run(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return _serve(args) if args.command == "serve" else _selftest(args)


if __name__ == "__main__":
    sys.exit(main())
