"""HTTPS with a private CA, and the scheme mistakes: each message says what to do (issue 19/21)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from conformance.reference.app import create_app
from conformance.reference.runner import generate_api_key
from conformance.vocabulary import EXIT_COULD_NOT_JUDGE, EXIT_NOT_JUDGED, EXIT_USAGE
from tests.partial_servers import TlsServer, serving
from tests.test_reports import Run, run_with_reports

# Two checks are enough to see the target judged; the rest, deselected, leave the run exit 8.
ONLY = ("-k", "test_minimal_request_answered or test_list_shape", "-q")


def _judged(run: Run) -> None:
    assert run.exit_code == EXIT_NOT_JUDGED, run.output[-2000:]
    verdicts = run.verdicts()
    assert verdicts["CHAT-01"] == verdicts["MODELS-01"] == "passed", run.output[-2000:]


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Iterator[tuple[TlsServer, str]]:
    key = generate_api_key()
    with TlsServer(create_app(key), tmp_path_factory.mktemp("tls")) as server:
        yield server, key


def _reason(run: Run) -> str:
    return " ".join(run.summary["gate"]["reasons"]) + run.output


def test_private_ca_fails_with_the_hint_then_passes_with_ca_bundle(tls, tmp_path):
    server, key = tls
    url = f"https://127.0.0.1:{server.port}/v1"
    refused = run_with_reports(url, key, tmp_path / "a", *ONLY)
    assert refused.exit_code == EXIT_COULD_NOT_JUDGE
    assert "is not trusted" in _reason(refused) and "--ca-bundle=" in _reason(refused)
    trusted = run_with_reports(url, key, tmp_path / "b", f"--ca-bundle={server.ca_file}", *ONLY)
    _judged(trusted)


def test_ssl_cert_file_is_honoured_the_standard_way(tls, tmp_path, monkeypatch):
    server, key = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    _judged(run_with_reports(f"https://127.0.0.1:{server.port}/v1", key, tmp_path, *ONLY))


def test_ca_bundle_that_is_no_file_is_a_usage_error(tls, tmp_path):
    server, key = tls
    missing = tmp_path / "nowhere.pem"
    run = run_with_reports(f"https://127.0.0.1:{server.port}/v1", key, tmp_path / "r",
                           f"--ca-bundle={missing}", *ONLY)  # fmt: skip
    assert run.exit_code == EXIT_USAGE
    assert "--ca-bundle" in run.output and "is not a file" in run.output


def test_http_against_the_tls_port_says_use_https(tls, tmp_path):
    server, key = tls
    run = run_with_reports(f"http://127.0.0.1:{server.port}/v1", key, tmp_path, *ONLY)
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    assert f"use --base-url=https://127.0.0.1:{server.port}/v1" in _reason(run)


def test_https_against_a_plain_port_says_use_http(tmp_path):
    key = generate_api_key()
    with serving(create_app(key)) as url:
        https = url.replace("http://", "https://")
        run = run_with_reports(https, key, tmp_path, *ONLY)
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    assert "does not speak TLS" in _reason(run)
    assert f"Use --base-url={url} " in _reason(run)


@pytest.mark.parametrize("status", [301, 308])
def test_a_redirect_to_https_names_the_new_base_url(status, tmp_path):
    async def moved(scope: Scope, receive: Receive, send: Send) -> None:
        location = f"https://api.example.test{scope['path']}".encode()
        headers = [(b"location", location), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    with serving(moved) as url:
        run = run_with_reports(url, generate_api_key(), tmp_path, *ONLY)
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    reason = _reason(run)
    assert f"HTTP {status}, a redirect (to https://)" in reason
    assert "use --base-url=https://api.example.test/v1" in reason


def test_a_tls_port_that_answers_plain_http_with_a_400_page_says_use_https(tmp_path):
    """nginx answers plain HTTP on its TLS port: 400 "The plain HTTP request was sent to
    HTTPS port", an HTML page."""

    async def nginx(scope: Scope, receive: Receive, send: Send) -> None:
        body = b"<html><body><h1>400 Bad Request</h1>The plain HTTP request was sent to HTTPS port"
        headers = [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    with serving(nginx) as url:
        run = run_with_reports(url, generate_api_key(), tmp_path, *ONLY)
    assert run.exit_code == EXIT_COULD_NOT_JUDGE
    https = url.replace("http://", "https://")
    assert f"The port speaks TLS: use --base-url={https}" in _reason(run)
