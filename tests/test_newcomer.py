"""What a new user does: a clean clone, a fresh venv, the README's main job, then the usual
mistakes, each of which must end with its own exit code and a short message.

The clone is of the committed HEAD, in a temporary folder with nothing beside it, so a
file the repository reads from outside itself, or forgot to commit, fails here. Skipped
(with the reason) only when `git` is missing or pip cannot reach a package index.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.reference.runner import generate_api_key
from tests.misbehaving import html_site

ROOT = Path(__file__).resolve().parents[1]
# Set in every process this test starts: a clone's own run of this test would recurse.
GUARD = "APEX_NEWCOMER_CLONE"
MAX_LINES = 15
RUN_TIMEOUT = 180


@dataclass(frozen=True)
class Newcomer:
    clone: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A shell like the reader's: the venv first, no settings of the run around us."""
        dropped = ("APEX_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "TOX_", "_TOX")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.venv))
        env[GUARD] = "1"
        env.update(extra)
        return env

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """A command in the clone, stdout and stderr together as the reader sees them."""
        try:
            return subprocess.run(
                args,
                cwd=self.clone,
                env=self.env(**extra_env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{' '.join(args)} ran over {RUN_TIMEOUT} s:\n{exc.output}")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _set_up(base: Path) -> dict[str, str]:
    """Clone, venv, `pip install -e .`; the outcome as a dict another worker can read."""
    if shutil.which("git") is None:
        return {"skip": "git is not installed: the newcomer test starts with `git clone`"}
    clone = base / "clone" / "apex-conformance"  # its folder holds nothing else
    venv = base / "venv"
    clone.parent.mkdir()
    cloned = subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        capture_output=True,
        text=True,
        check=False,
    )
    if cloned.returncode:
        return {"fail": f"git clone of {ROOT} failed:\n{_tail(cloned.stderr)}"}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    newcomer = Newcomer(clone, venv)
    probe = newcomer.run(
        str(venv / "bin" / "python"), "-m", "pip", "download", "--no-deps",
        "--dest", str(base / "probe"),
        "setuptools>=69",
    )  # fmt: skip
    if probe.returncode:
        return {
            "skip": "the package index cannot be reached, so `pip install -e .` cannot run "
            f"(pip download setuptools failed: {_tail(probe.stdout, 1)})"
        }
    installed = newcomer.run(str(venv / "bin" / "pip"), "install", "-e", ".")
    if installed.returncode:
        return {"fail": f"`pip install -e .` failed in a fresh clone:\n{_tail(installed.stdout)}"}
    return {"clone": str(clone), "venv": str(venv)}


@pytest.fixture(scope="session")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Newcomer:
    """One clone and venv for the whole run; xdist workers wait for and share the first."""
    if os.environ.get(GUARD):
        pytest.skip("already inside a newcomer clone's run: not cloning again")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder every worker's basetemp sits in
    base = shared / "newcomer"
    base.mkdir(exist_ok=True)
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outcome_file = base / "outcome.json"
        if not outcome_file.exists():
            outcome_file.write_text(json.dumps(_set_up(base)))
        outcome = json.loads(outcome_file.read_text())
    if "skip" in outcome:
        pytest.skip(outcome["skip"])
    if "fail" in outcome:
        pytest.fail(outcome["fail"], pytrace=False)
    return Newcomer(Path(outcome["clone"]), Path(outcome["venv"]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _models(base_url: str, key: str) -> list[str] | None:
    request = urllib.request.Request(
        f"{base_url}/models", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return [model["id"] for model in json.load(answer)["data"]]
    except OSError:
        return None


@dataclass(frozen=True)
class Target:
    origin: str
    key: str
    models: list[str]


@pytest.fixture(scope="module")
def reference(newcomer: Newcomer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """`apex-conformance serve` from the newcomer's venv, as the README describes it."""
    key = generate_api_key()
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(newcomer.bin / "apex-conformance"), "serve", f"--port={port}"],
            cwd=newcomer.clone,
            env=newcomer.env(APEX_API_KEY=key),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while (models := _models(f"{origin}/v1", key)) is None:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"apex-conformance serve did not answer:\n{_tail(log.read_text())}")
            time.sleep(0.2)
        yield Target(origin, key, models)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def web_site() -> Iterator[str]:
    with html_site() as origin:
        yield origin


def test_main_job_in_a_fresh_clone(newcomer: Newcomer):
    started = time.time()
    result = newcomer.run(str(newcomer.bin / "pytest"))
    assert result.returncode == 0, f"`pytest` in a fresh clone:\n{_tail(result.stdout)}"
    summary = newcomer.clone / "reports" / "summary.json"
    assert summary.is_file(), "the main job wrote no reports/summary.json"
    assert summary.stat().st_mtime >= started - 1, "reports/summary.json is not this run's"
    assert json.loads(summary.read_text())["gate"]["exit_code"] == 0


def _short(output: str) -> None:
    lines = output.strip().splitlines()
    assert "Traceback" not in output, f"a traceback instead of a message:\n{output}"
    assert len(lines) <= MAX_LINES, f"{len(lines)} lines, more than {MAX_LINES}:\n{output}"


@dataclass(frozen=True)
class Mistake:
    """What went wrong, as `pytest` options and the key in the environment."""

    exit_code: int
    options: tuple[str, ...]
    key: str  # "right", "wrong"
    phrases: tuple[str, ...]  # each must appear in the output (case-insensitive)


def _mistakes(target: Target, web_site: str) -> dict[str, Mistake]:
    v1 = f"{target.origin}/v1"
    closed = f"http://127.0.0.1:{_free_port()}/v1"
    return {
        "wrong key": Mistake(7, (f"--base-url={v1}",), "wrong", ("APEX_API_KEY",)),
        "base URL without /v1": Mistake(
            7, (f"--base-url={target.origin}",), "right", ("did you mean", v1)
        ),
        "chat model typo": Mistake(
            4, (f"--base-url={v1}", "--chat-model=openai/gpt-4o-typo"), "right", ("did you mean",)
        ),
        "profile typo": Mistake(4, (f"--base-url={v1}", "--profile=fulll"), "right", ("full?",)),
        "fail-on typo": Mistake(4, ("--fail-on=shoud",), "right", ("should?",)),
        "budget not a number": Mistake(4, ("--max-requests=abc",), "right", ("whole number",)),
        "unknown option": Mistake(4, ("--max-request=5",), "right", ("--max-request=5",)),
        "base URL without scheme": Mistake(
            4, (f"--base-url={v1.split('://')[1]}",), "right", (f"--base-url={v1}",)
        ),
        "not an API": Mistake(
            7, (f"--base-url={web_site}/v1",), "right", ("no OpenAI-format API",)
        ),
        "unreachable": Mistake(7, (f"--base-url={closed}",), "right", ()),
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong key",
        "base URL without /v1",
        "chat model typo",
        "profile typo",
        "fail-on typo",
        "budget not a number",
        "unknown option",
        "base URL without scheme",
        "not an API",
        "unreachable",
    ],
)
def test_mistake_ends_with_its_exit_code_and_a_short_message(
    case: str, newcomer: Newcomer, reference: Target, web_site: str, tmp_path: Path
):
    mistake = _mistakes(reference, web_site)[case]
    key = reference.key if mistake.key == "right" else generate_api_key()
    # Its own report folder: an xdist worker may run the main job in the clone meanwhile.
    # An earlier run's PASSED summary sits there: the mistake must replace it.
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "summary.json").write_text(json.dumps({"gate": {"exit_code": 0}, "stale": 1}))
    result = newcomer.run(
        str(newcomer.bin / "pytest"), *mistake.options, f"--report-dir={reports}", APEX_API_KEY=key
    )
    output = result.stdout
    summary = json.loads((reports / "summary.json").read_text())
    assert "stale" not in summary, f"{case}: the earlier run's summary.json was left:\n{output}"
    assert summary["gate"]["exit_code"] == result.returncode
    assert result.returncode == mistake.exit_code, (
        f"{case}: exit {result.returncode}, expected {mistake.exit_code}:\n{_tail(output, 40)}"
    )
    for phrase in mistake.phrases:
        assert phrase.lower() in output.lower(), f"{case}: no {phrase!r} in:\n{output}"
    if case == "chat model typo":
        assert any(model in output for model in reference.models), (
            f"the message lists none of the offered models {reference.models}:\n{output}"
        )
    assert key not in output, "the key was printed"
    assert "deselected" not in output, "pytest's word for -k/-m, not for a run that stopped"
    _short(output)


def test_path_options_written_with_a_space(newcomer: Newcomer, tmp_path: Path):
    # Paths outside the clone: pytest reads such a value as a path to collect, before it
    # knows the option, unless the suite sees to it (it moved the rootdir out of the clone).
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "reports").mkdir(parents=True)
    (elsewhere / "history").mkdir()
    (elsewhere / "waivers.yaml").write_text("[]\n")
    (elsewhere / "previous.json").write_text('{"requirements": []}')
    result = newcomer.run(
        str(newcomer.bin / "pytest"), "-x", "--profile=smoke",
        "--report-dir", str(elsewhere / "reports"),
        "--waivers", str(elsewhere / "waivers.yaml"),
        "--compare", str(elsewhere / "previous.json"),
        "--history", str(elsewhere / "history"),
    )  # fmt: skip
    assert result.returncode == 0, _tail(result.stdout, 40)
    assert "tests/" not in result.stdout, "the self-tests were collected"
    summary = json.loads((elsewhere / "reports" / "summary.json").read_text())
    assert summary["gate"]["exit_code"] == 0
    assert list((elsewhere / "history").iterdir()), "--history kept nothing"


def test_a_spent_budget_ends_with_the_verdict(newcomer: Newcomer, tmp_path: Path):
    result = newcomer.run(
        str(newcomer.bin / "pytest"), "--max-requests=40", f"--report-dir={tmp_path}"
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 8, _tail(result.stdout, 40)
    # One line per cause of the unjudged checks, not one block and one line per check.
    assert len(lines) <= 60, f"{len(lines)} lines:\n{result.stdout}"
    assert any(line.startswith("overall: NOT JUDGED") for line in lines[-6:]), _tail(result.stdout)
    assert any("not judged: budget" in line for line in lines), result.stdout
