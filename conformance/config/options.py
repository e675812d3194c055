"""The suite's command-line options, each with an environment variable."""

from __future__ import annotations

import dataclasses
import difflib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance.config.settings import DEFAULT_MAX_REQUESTS, Settings, env
from conformance.vocabulary import FAIL_ON, PROFILES


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    help: str
    default: Any = None
    type: Any = str
    choices: tuple[str, ...] | None = None
    positive: bool = False  # a count, a rate or a duration: zero or less is a mistake


def _default(name: str) -> Any:
    """A setting's default, declared once: on Settings."""
    return next(f.default for f in dataclasses.fields(Settings) if f.name == name)


# One table, mirrored in the README's option table.
OPTIONS = (
    Option("--api-key", "APEX_API_KEY", "API key of the target (prefer the environment variable)."),
    Option("--chat-model", "APEX_CHAT_MODEL", "Chat model to test (default: cheapest listed)."),
    Option("--image-model", "APEX_IMAGE_MODEL", "Image model to test (default: cheapest listed)."),
    Option(
        "--models",
        "APEX_MODELS",
        "Models the model-dependent checks judge: cheapest, all, or ids and globs "
        "(openai/gpt-4o,anthropic/*).",
        _default("models"),
    ),
    Option(
        "--max-cost",
        "APEX_MAX_COST",
        "Most the run may spend, in the price list's units (tokens x /models prices).",
        None,
        float,
        positive=True,
    ),
    Option("--profile", "APEX_PROFILE", "How much to check.", _default("profile"), str, PROFILES),
    Option(
        "--fail-on",
        "APEX_FAIL_ON",
        "Lowest level that fails the run.",
        _default("fail_on"),
        str,
        FAIL_ON,
    ),
    Option(
        "--report-dir",
        "APEX_REPORT_DIR",
        "Where HTML, JUnit and JSON reports go.",
        str(_default("report_dir")),
    ),
    Option(
        "--history",
        "APEX_HISTORY",
        "Folder that keeps each run's summary: verdict strips, flaky marks, "
        "`apex-conformance trend`.",
    ),
    Option(
        "--request-timeout",
        "APEX_REQUEST_TIMEOUT",
        "Seconds for one whole request.",
        _default("request_timeout"),
        float,
        positive=True,
    ),
    Option(
        "--stream-idle-timeout",
        "APEX_STREAM_IDLE_TIMEOUT",
        "Seconds a stream may stay silent.",
        _default("stream_idle_timeout"),
        float,
        positive=True,
    ),
    Option(
        "--max-requests",
        "APEX_MAX_REQUESTS",
        "Request budget of the whole run, all workers together (default per profile: "
        + "/".join(str(n) for n in DEFAULT_MAX_REQUESTS.values())
        + ").",
        None,
        int,
        positive=True,
    ),
    Option(
        "--rate-limit",
        "APEX_RATE_LIMIT",
        "Requests per second for the whole run.",
        None,
        float,
        positive=True,
    ),
    Option(
        "--concurrency",
        "APEX_CONCURRENCY",
        "Independent requests in flight at once (1: one at a time).",
        _default("concurrency"),
        int,
        positive=True,
    ),
    Option(
        "--ca-bundle",
        "APEX_CA_BUNDLE",
        "PEM file of CA certificates to trust besides the defaults (a private CA).",
    ),
    Option("--seed", "APEX_SEED", "Seed for generated requests.", _default("seed"), int),
    Option("--waivers", "APEX_WAIVERS", "YAML file of waived requirements."),
    Option("--compare", "APEX_COMPARE", "A previous summary.json to diff against."),
    Option(
        "--har",
        "APEX_HAR",
        "Write every exchange of the run as a HAR 1.2 file here (default in --profile=full: "
        "conformance.har in --report-dir).",
    ),
    Option(
        "--replay",
        "APEX_REPLAY",
        "Re-judge a recorded run offline: its report folder or HAR; no request is sent "
        "(what `apex-conformance rejudge` runs).",
    ),
)


_KINDS = {int: "a whole number", float: "a number"}


def _one_of(option: Option) -> str:
    return f" One of: {', '.join(option.choices)}." if option.choices else ""


def _dest(flag: str) -> str:
    return "apex_" + flag.lstrip("-").replace("-", "_")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("apex-conformance", "ApexApi conformance")
    for option in OPTIONS:
        group.addoption(
            option.flag,
            dest=_dest(option.flag),
            default=None,
            # Checked by value(), not argparse: a usage error there leaves reports saying so.
            help=f"{option.help}{_one_of(option)} [env {option.env}]",
        )


def value(config: pytest.Config, flag: str) -> Any:
    """An option's value: the flag, else its environment variable, else the default."""
    option = next(o for o in OPTIONS if o.flag == flag)
    raw = config.getoption(_dest(flag)) or env(option.env)
    if raw is None:
        return option.default
    if option.choices and raw not in option.choices:
        close = difflib.get_close_matches(str(raw), option.choices, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise pytest.UsageError(
            f"{option.flag} / {option.env}: {raw!r} is not one of {', '.join(option.choices)}{hint}"
        )
    try:
        converted = option.type(raw)
    except ValueError as exc:
        raise pytest.UsageError(
            f"{option.flag} / {option.env}: {raw!r} is not {_KINDS.get(option.type, 'valid')}"
        ) from exc
    if option.positive and not converted > 0:
        raise pytest.UsageError(f"{option.flag} / {option.env}: {raw!r} must be greater than 0")
    return converted


def build_settings(config: pytest.Config, base_url: str, api_key: str, embedded: bool) -> Settings:
    profile = value(config, "--profile")
    return Settings(
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        embedded=embedded,
        profile=profile,
        fail_on=value(config, "--fail-on"),
        chat_model=value(config, "--chat-model"),
        image_model=value(config, "--image-model"),
        models=value(config, "--models"),
        max_cost=value(config, "--max-cost"),
        report_dir=Path(value(config, "--report-dir")),
        history=Path(value(config, "--history")) if value(config, "--history") else None,
        request_timeout=value(config, "--request-timeout"),
        stream_idle_timeout=value(config, "--stream-idle-timeout"),
        max_requests=value(config, "--max-requests") or DEFAULT_MAX_REQUESTS[profile],
        rate_limit=value(config, "--rate-limit"),
        concurrency=value(config, "--concurrency"),
        seed=value(config, "--seed"),
        ca_bundle=_ca_bundle(value(config, "--ca-bundle")),
    )


def _ca_bundle(raw: str | None) -> Path | None:
    """The --ca-bundle file, which must exist: a typo would only show as a TLS failure."""
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise pytest.UsageError(f"--ca-bundle / APEX_CA_BUNDLE: {raw!r} is not a file")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise pytest.UsageError(
            f"--ca-bundle / APEX_CA_BUNDLE: {raw!r} holds no PEM certificate ({exc})"
        ) from None
    return path


def check_base_url(base_url: str) -> None:
    """A usage error for a base URL that is no http(s) URL (`127.0.0.1:8080/v1`)."""
    parts = urlsplit(base_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return
    raise pytest.UsageError(
        f"--base-url={base_url} is not an http:// or https:// URL "
        f"(did you mean --base-url=http://{base_url.split('://')[-1]}?)"
    )
