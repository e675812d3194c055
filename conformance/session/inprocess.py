"""Running the suite in this process: the fault zoo and the self-tests run it hundreds of times."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence

import pytest

KEY_VARIABLE = "APEX_API_KEY"


def run_in_process(
    args: Sequence[str], api_key: str, plugins: Sequence[object] = ()
) -> tuple[int, str]:
    """pytest.main with the suite's plugin: the exit code and everything the run printed.

    The key goes in through the environment, never on a command line, and the caller's
    own value is restored afterwards.
    """
    out = io.StringIO()
    saved = os.environ.get(KEY_VARIABLE)
    os.environ[KEY_VARIABLE] = api_key
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = int(pytest.main(list(args), plugins=list(plugins)))
    finally:
        if saved is None:
            os.environ.pop(KEY_VARIABLE, None)
        else:
            os.environ[KEY_VARIABLE] = saved
    return code, out.getvalue()
