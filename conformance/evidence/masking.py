"""Secrets out of a recording, in a form a re-judging run can put its own credentials back in.

The configured key and the credential of each request are replaced by marks of the same
length (`<K####>`, `<C####>`), so stream offsets stay true and a check that looks for the
submitted key in an answer (AUTH-09) finds the re-judging run's stand-in key there instead.
Every other registered secret is replaced by [REDACTED].
"""

from __future__ import annotations

import re

from conformance.transport.redact import redact_text

KEY, CREDENTIAL = "K", "C"
_MARK = re.compile(rb"<([KC])(#*)>")


def mark(kind: str, length: int) -> str:
    """A placeholder of `length` characters (at least 3) for a secret of `kind`."""
    return f"<{kind}{'#' * max(0, length - 3)}>"


def mask(data: bytes, key: str, token: str | None) -> bytes:
    """`data` with the key and the request's own credential marked, other secrets redacted."""
    text = data.decode("latin-1")
    secrets = {KEY: key, CREDENTIAL: token or ""}
    # The longer first: a key cut to 24 characters is part of the whole key, and the
    # whole key is part of one with characters appended.
    for kind, secret in sorted(secrets.items(), key=lambda pair: -len(pair[1])):
        if len(secret) >= 8:
            text = text.replace(secret, mark(kind, len(secret)))
    return redact_text(text).encode("latin-1")


def unmask(data: bytes, key: str, token: str | None) -> bytes:
    """The recorded bytes with the marks replaced by this run's key and credential."""
    values = {KEY: key.encode("latin-1", "replace"), CREDENTIAL: (token or "").encode()}

    def put_back(match: re.Match[bytes]) -> bytes:
        value = values[match.group(1).decode()]
        return value if len(value) == len(match.group(0)) else match.group(0)

    return _MARK.sub(put_back, data) if b"<" in data else data


def stand_in_key(key: str) -> str:
    """A key of the same length, prefix and letter cases as `key`, for a re-judging run.

    The checks' choices depend on no more than that (a variant that leaves the key as it
    is is skipped: lower-casing a key without capitals); the recording keeps nothing else.
    """
    prefix = key[: key.index("-") + 1] if "-" in key[:8] else ""
    rest = key[len(prefix) :]
    filler = ["x"] * len(rest)
    if filler and any(c.isupper() for c in rest):
        filler[0] = "X"
    if len(filler) > 1 and any(c.isdigit() for c in rest):
        filler[1] = "0"
    if not any(c.islower() for c in rest) and filler:
        filler = [c if c != "x" else "Y" for c in filler]
    return prefix + "".join(filler)
