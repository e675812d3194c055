"""A verifiable conformance bundle: the summary, the recording, what produced them, and a
manifest of their SHA-256 hashes; `verify` checks the hashes and re-judges the recording."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.evidence.rejudge import Rejudged, rejudge
from conformance.evidence.replay import RECORDING, load_recording

SUMMARY = "summary.json"
META = "meta.json"
MANIFEST = "manifest.json"
FORMAT = "apex-conformance-bundle"
# Fixed member times: the same files make the same bundle, byte for byte.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleError(ValueError):
    """The bundle cannot be made or read; the message says why."""


def catalogue_hash() -> str:
    """SHA-256 of this installation's requirements.yaml: the rules its checks judge."""
    data = resources.files("conformance").joinpath("requirements.yaml").read_bytes()
    return hashlib.sha256(data).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(report_dir: Path, out: Path) -> dict[str, Any]:
    """Write the bundle of the run in `report_dir` to `out`; its manifest is returned."""
    try:
        summary_bytes = (report_dir / SUMMARY).read_bytes()
        recording_bytes = (report_dir / RECORDING).read_bytes()
        summary = json.loads(summary_bytes)
        run = load_recording(report_dir)["_apexRun"]
    except (OSError, ValueError) as exc:
        raise BundleError(f"{report_dir}: not the report folder of a recorded run: {exc}") from exc
    if run.get("started") != summary["run"].get("started"):
        raise BundleError(
            f"{report_dir}: the recording ({run.get('started')}) and summary.json "
            f"({summary['run'].get('started')}) are of different runs"
        )
    meta = {
        "format": FORMAT,
        "version": 1,
        "suite_version": summary["run"]["suite_version"],
        "bundled_by": __version__,
        "catalogue_sha256": catalogue_hash(),
        "options": summary["run"].get("config", {}),
        "target": summary["run"]["target"],
        "started": summary["run"]["started"],
        "verdict": summary["gate"]["verdict"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    files = {
        SUMMARY: summary_bytes,
        RECORDING: recording_bytes,
        META: json.dumps(meta, indent=1).encode("utf-8"),
    }
    manifest = {"algorithm": "sha256", "files": {n: _sha256(d) for n, d in files.items()}}
    files[MANIFEST] = json.dumps(manifest, indent=1).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, _EPOCH), data, zipfile.ZIP_DEFLATED)
    return manifest


@dataclass
class Verification:
    """What `verify` found: problems (none when verified), notes, the re-judging run."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    rejudged: Rejudged | None = None

    @property
    def verified(self) -> bool:
        return not self.problems


def read_bundle(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise BundleError(f"{path}: not a readable bundle ({exc})") from exc


def check_hashes(files: dict[str, bytes]) -> list[str]:
    """Every file of the bundle against its manifest: none missing, none extra, none altered."""
    try:
        listed: dict[str, str] = json.loads(files[MANIFEST])["files"]
    except (KeyError, ValueError, TypeError) as exc:
        return [f"{MANIFEST} is missing or unreadable ({exc})"]
    problems = [f"{name} is missing" for name in listed if name not in files]
    problems += [
        f"{name} is not in the manifest" for name in files if name not in (*listed, MANIFEST)
    ]
    problems += [
        f"{name} was altered: its SHA-256 is {_sha256(files[name])}, the manifest says {digest}"
        for name, digest in listed.items()
        if name in files and _sha256(files[name]) != digest
    ]
    problems += [f"{name} is missing" for name in (SUMMARY, RECORDING, META) if name not in listed]
    return problems


def verify(path: Path, workdir: Path | None = None) -> Verification:
    """Check the hashes, then re-judge the recording offline and compare every verdict."""
    result = Verification()
    files = read_bundle(path)
    result.problems = check_hashes(files)
    if result.problems:
        return result
    meta = json.loads(files[META])
    result.summary = json.loads(files[SUMMARY])
    if meta.get("suite_version") != __version__:
        result.notes.append(
            f"recorded by suite {meta.get('suite_version')}, re-judged by {__version__}"
        )
    if meta.get("catalogue_sha256") != catalogue_hash():
        result.notes.append("the requirement catalogue differs from this installation's")
    with tempfile.TemporaryDirectory(prefix="apex-verify-", dir=workdir) as folder:
        run = Path(folder)
        for name in (SUMMARY, RECORDING):
            (run / name).write_bytes(files[name])
        result.rejudged = rejudge(run, run / "rejudged")
    for change in result.rejudged.changes:
        model = f" [{change['model']}]" if change["model"] else ""
        result.problems.append(
            f"{change['check'] or change['nodeid']}{model}: recorded "
            f"{change['before'] or 'absent'}, re-judged {change['after'] or 'absent'}"
        )
    recorded_gate = result.summary["gate"]["verdict"]
    rejudged_gate = result.rejudged.summary["gate"]["verdict"]
    if result.summary.get("waivers"):
        # Waivers are the team's judgement, not the suite's: the checks' verdicts are compared.
        result.notes.append("the run applied waivers: its checks' verdicts are compared")
    elif recorded_gate != rejudged_gate:
        result.problems.append(
            f"the run's verdict: recorded {recorded_gate}, re-judged {rejudged_gate}"
        )
    return result
