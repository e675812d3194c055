"""Image URLs are fetched as a client fetches them: redirects followed within limits.

A small CDN on loopback answers each path as its name says; the client follows absolute and
relative Locations of every redirect code, counts each hop as a request, sends no key to any
hop, and names the chain when it leads nowhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.config.settings import Settings
from conformance.reference.png import solid_png
from conformance.reference.runner import ServerThread
from conformance.transport.client import ApexClient
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.transport.redirects import MAX_REDIRECTS

KEY = "ak-" + "r" * 45
PNG = solid_png(4, 4)


async def cdn(request: Request) -> Response:
    """/hop/<code>/<form>/<left>/<end>: `left` more redirects, then `end` (png, 404, html)."""
    request.app.state.seen.append((request.url.path, request.headers.get("authorization")))
    code, form, left, end = request.path_params["rest"].split("/")
    if int(left) == 0:
        if end == "png":
            return Response(PNG, media_type="image/png")
        if end == "html":
            return Response(b"<html>Sign in</html>", media_type="text/html")
        return Response(b"gone", 404)
    target = f"/hop/{code}/{form}/{int(left) - 1}/{end}"
    location = {
        "url": f"{request.url.scheme}://{request.url.netloc}{target}",
        "path": target,
        "relative": f"../{int(left) - 1}/{end}",
    }[form]
    return Response(status_code=int(code), headers={"location": location})


async def special(request: Request) -> Response:
    name = request.path_params["name"]
    request.app.state.seen.append((request.url.path, request.headers.get("authorization")))
    if name == "loop-a":
        return Response(status_code=302, headers={"location": "loop-b"})
    if name == "loop-b":
        return Response(status_code=307, headers={"location": "/x/loop-a"})
    if name == "no-location":
        return Response(status_code=302)
    return Response(status_code=302, headers={"location": "ftp://example.test/a.png"})


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    app = Starlette(
        routes=[Route("/hop/{rest:path}", cdn), Route("/x/{name}", special)],
    )
    app.state.seen = []
    with ServerThread(app) as server:
        yield server.origin, app.state.seen


def client(budget: int = 50) -> ApexClient:
    settings = Settings(
        base_url="http://127.0.0.1:9/v1", api_key=KEY, embedded=False, max_requests=budget
    )
    return ApexClient(settings, Spend(), Budget(budget), RateLimiter(None))


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("form", ["url", "path", "relative"])
def test_redirects_are_followed_to_the_bytes(site, code, form):
    origin, seen = site
    apex = client()
    download = apex.fetch(f"{origin}/hop/{code}/{form}/2/png")
    assert download.problem is None
    assert [hop.status for hop in download.hops] == [code, code, 200]
    assert download.final.body == PNG
    # Each hop is a request of the run, shown in the check's transcript, and carries no key.
    assert apex.spend.requests == 3
    assert apex.touched == download.hops
    assert download.chain().count(" -> ") == 5
    assert all(auth is None for path, auth in seen if path.startswith(f"/hop/{code}/{form}/"))


def test_as_many_redirects_as_allowed_are_followed(site):
    origin, _ = site
    download = client().fetch(f"{origin}/hop/302/path/{MAX_REDIRECTS}/png")
    assert download.problem is None and download.final.status == 200


@pytest.mark.parametrize(
    ("path", "problem", "requests"),
    [
        (f"/hop/302/path/{MAX_REDIRECTS + 1}/png", f"more than {MAX_REDIRECTS} redirects", 6),
        ("/x/loop-a", "a redirect loop", 2),
        ("/x/no-location", "without a Location header", 1),
        ("/x/elsewhere", "not an http(s) URL", 1),
    ],
)
def test_a_chain_that_leads_nowhere_says_why(site, path, problem, requests):
    origin, _ = site
    apex = client()
    download = apex.fetch(f"{origin}{path}")
    assert download.problem is not None and problem in download.problem
    assert len(download.hops) == requests == apex.spend.requests
    assert download.chain().startswith(f"GET {origin}{path} -> ")


@pytest.mark.parametrize("end", ["404", "html"])
def test_where_the_chain_ends_is_what_is_judged(site, end):
    origin, _ = site
    download = client().fetch(f"{origin}/hop/303/relative/1/{end}")
    assert download.problem is None and download.redirected
    assert download.final.status == (404 if end == "404" else 200)
