"""`apex-conformance merge`: the summary.json of runs over different shards (models, regions,
profiles) combined into one summary with the same gate as one run over all of them.

The records of every input are summarized again, by this installation's catalogue, so the
merged gate is decided by the one `summarize()`; nothing of the inputs' own gates is trusted
but why a shard stopped before judging.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.report.gate import Gate
from conformance.report.records import TestRecord
from conformance.report.summary import SUMMARY_SCHEMA_VERSION, ReportInputs, summarize
from conformance.report.waivers import Waiver
from conformance.vocabulary import PROFILES

_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(TestRecord))
# A shard that ended before judging, worst first: its outcome is the merged one unless a
# gated requirement failed elsewhere (failed beats not judged, as in one run).
_STOPS = ("internal-error", "interrupted", "usage-error", "could-not-judge")
# gate.py's wording for failures outside the catalogue, the one count a summary keeps as text.
_OTHER_FAILURES = re.compile(r"^(\d+) test\(s\) failed outside the requirement catalogue$")
_JUDGED = frozenset({"passed", "failed", "warned", "info"})
# How a run says its --models matched no listed model (session/model_choice.py).
_NO_MATCH = "matches no model"


class MergeError(ValueError):
    """An input cannot be merged; the one-line message says which and why."""


@dataclass(frozen=True)
class Shard:
    """One input: where it came from, its label and its summary."""

    source: str
    label: str
    summary: dict[str, Any]

    @property
    def run(self) -> dict[str, Any]:
        run: dict[str, Any] = self.summary["run"]
        return run


def load_shard(spec: str) -> Shard:
    """`[LABEL=]path/summary.json`, read and checked; the label defaults to the run's
    `shard`, else the folder's name (a CI artifact's, say)."""
    label, path = "", Path(spec)
    if "=" in spec and not path.exists():
        label, _, rest = spec.partition("=")
        path = Path(rest)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise MergeError(f"{path}: no such file") from exc
    except OSError as exc:
        raise MergeError(f"{path}: cannot read the file ({exc.strerror})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MergeError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not {"requirements", "checks", "run", "gate"} <= data.keys():
        raise MergeError(f"{path}: not an apex-conformance summary.json")
    version = data.get("schema_version")
    if version != SUMMARY_SCHEMA_VERSION:
        raise MergeError(
            f"{path}: summary schema_version {version!r}; apex-conformance {__version__} "
            f"reads schema_version {SUMMARY_SCHEMA_VERSION} only"
        )
    checks, run = data["checks"], data["run"]
    if not isinstance(run, dict) or not isinstance(checks, list):
        raise MergeError(f"{path}: not an apex-conformance summary.json (run, checks)")
    for n, check in enumerate(checks, 1):
        if not isinstance(check, dict) or not {"nodeid", "requirements", "verdict"} <= check.keys():
            raise MergeError(f"{path}: checks[{n}] is not a check (nodeid, requirements, verdict)")
    label = label or str(run.get("shard") or "") or path.parent.name or str(path)
    return Shard(str(path), label, data)


def records_of(shards: list[Shard]) -> list[TestRecord]:
    """Every input's records; a record seen before (same nodeid, model, verdict, message)
    counts once, and an `error` beside a verdict of the same check on the same target is
    dropped: that check was judged (a model-independent check runs in every shard). So is
    the error of a model-dependent check in a shard that selected no model of its surface
    (`--models=anthropic/*` has no image model) where another shard judged it per model."""
    seen: set[tuple[str, str, str, str]] = set()
    judged: set[tuple[str, str, str]] = set()
    judged_per_model: set[tuple[str, str]] = set()
    kept: list[tuple[str, TestRecord]] = []
    for shard in shards:
        target = str(shard.run.get("target"))
        for check in shard.summary["checks"]:
            record = TestRecord(**{k: v for k, v in check.items() if k in _RECORD_FIELDS})
            key = (record.nodeid, record.model, record.verdict, record.message)
            if key in seen:
                continue
            seen.add(key)
            kept.append((target, record))
            if record.verdict in _JUDGED:
                judged.add((target, record.nodeid, record.model))
                if record.model:
                    judged_per_model.add((target, record.check))
    return [
        record
        for target, record in kept
        if record.verdict != "error"
        or not (
            (target, record.nodeid, record.model) in judged
            or (not record.model and (target, record.check) in judged_per_model)
        )
    ]


def merge(
    shards: list[Shard], out_dir: str, inputs: ReportInputs | None = None
) -> tuple[Gate, dict[str, Any]]:
    """The merged gate and summary. Without `inputs.waivers` the inputs' own waivers are
    applied again, to the merged matrix."""
    if not shards:
        raise MergeError("no summary.json to merge")
    _check_compatible(shards)
    if inputs is None or (not inputs.waivers and not inputs.waivers_path):
        waivers, files = shard_waivers(shards)
        inputs = dataclasses.replace(
            inputs or ReportInputs(), waivers=waivers, waivers_path=", ".join(files) or None
        )
    records = records_of(shards)
    run = merged_run(shards, out_dir)
    # Every shard's models, in shard order, each once: the merged matrix's columns.
    selected = [m for shard in shards for m in shard.run.get("selected_models") or []]
    run["selected_models"] = [list(m) for m in dict.fromkeys(tuple(m) for m in selected)]
    other = sum(_other_failures(shard) for shard in shards)
    latency = merged_latency(shards)
    gate, summary = summarize(records, run, inputs, None, other, latency)
    empty = [shard for shard in shards if _selected_nothing(shard)]
    if len(empty) == len(shards):
        empty = []  # nothing judged anywhere: that is the merged run's usage error
    notes = [
        f"shard {s.label} selected no model (--models={s.run.get('models')}): it judged nothing"
        for s in empty
    ]
    stops = [
        shard
        for shard in shards
        if shard.summary["gate"].get("verdict") in _STOPS and shard not in empty
    ]
    if not stops:
        return _noted(gate, summary, notes)
    stops.sort(key=lambda shard: _STOPS.index(shard.summary["gate"]["verdict"]))
    why = [
        f"shard {s.label}: {s.run.get('stopped') or s.summary['gate']['verdict']}" for s in stops
    ]
    if gate.verdict == "failed":
        return _noted(gate, summary, why + notes)
    outcome = stops[0].summary["gate"]["verdict"]
    gate, summary = summarize(records, run, inputs, (outcome, "; ".join(why)), other, latency)
    return _noted(gate, summary, notes)


def _noted(gate: Gate, summary: dict[str, Any], notes: list[str]) -> tuple[Gate, dict[str, Any]]:
    if notes:
        gate = dataclasses.replace(gate, reasons=[*gate.reasons, *notes])
        summary["gate"] = gate.as_dict()
    return gate, summary


def _selected_nothing(shard: Shard) -> bool:
    """A shard whose --models globs matched no listed model, so judged nothing: on a
    gateway without a provider's models, that provider's shard. It counts for nothing in
    the merge; a model id that matches nothing (a typo) stays the usage error it is."""
    patterns = [p.strip() for p in str(shard.run.get("models") or "").split(",") if p.strip()]
    return (
        shard.summary["gate"].get("verdict") == "usage-error"
        and not shard.summary.get("checks")
        and bool(patterns)
        and all(any(c in p for c in "*?[") for p in patterns)
        and _NO_MATCH in str(shard.run.get("stopped") or "")
    )


def merged_latency(shards: list[Shard]) -> dict[str, Any]:
    """Each model's latency profile, from the shard that judged it (the first, if several:
    profiles of different regions are not one distribution)."""
    merged: dict[str, Any] = {}
    for shard in shards:
        for model, profile in (shard.summary.get("latency") or {}).items():
            merged.setdefault(model, profile)
    return merged


def _check_compatible(shards: list[Shard]) -> None:
    """One suite version (this one: its catalogue makes the rows) and one --fail-on."""
    seen: set[tuple[str, str]] = set()
    for shard in shards:
        key = (str(shard.run.get("started")), str(shard.run.get("target")))
        if key in seen:
            raise MergeError(
                f"{shard.source}: the same run (started {key[0]}, target {key[1]}) is given twice"
            )
        seen.add(key)
    versions = _distinct(shard.run.get("suite_version") for shard in shards)
    if len(versions) > 1:
        raise MergeError(
            f"the inputs come from different suite versions ({', '.join(versions)}): "
            "their checks and catalogues differ; rerun the shards with one version"
        )
    if versions and versions[0] != __version__:
        raise MergeError(
            f"the inputs come from apex-conformance {versions[0]}, this is {__version__}: "
            f"merge them with {versions[0]}, whose catalogue judged them"
        )
    fail_on = _distinct(shard.run.get("fail_on") for shard in shards)
    if len(fail_on) > 1:
        raise MergeError(
            f"the inputs were run with different --fail-on ({', '.join(fail_on)}): "
            "a SHOULD failure is warned in one and failed in the other"
        )


def shard_waivers(shards: list[Shard]) -> tuple[list[Waiver], list[str]]:
    """The waivers the inputs applied (each once) and the files they came from."""
    found: dict[tuple[str, str | None], Waiver] = {}
    for shard in shards:
        for entry in shard.summary.get("waivers") or ():
            waiver = Waiver.from_dict(entry)
            key = (waiver.id, waiver.model)
            if found.setdefault(key, waiver) != waiver:
                raise MergeError(
                    f"the inputs disagree on the waiver for {waiver.label}; "
                    "pass one file with --waivers"
                )
    files = _distinct(shard.run.get("waivers_file") for shard in shards)
    return list(found.values()), files


def merged_run(shards: list[Shard], out_dir: str) -> dict[str, Any]:
    """The run facts of the merge: spend, budgets and durations summed; what differs
    between shards listed, and every shard's own facts under `shards`."""
    runs = [shard.run for shard in shards]
    spend: dict[str, int] = {}
    for run in runs:
        for key, value in (run.get("spend") or {}).items():
            spend[key] = spend.get(key, 0) + int(value)
    profiles = _distinct(run.get("profile") for run in runs)
    seeds = {run.get("seed") for run in runs}
    merged: dict[str, Any] = {
        "target": ", ".join(_distinct(run.get("target") for run in runs)),
        "embedded": all(run.get("embedded") for run in runs),
        "suite_version": runs[0].get("suite_version"),
        "profile": max(profiles, key=_profile_rank, default="standard"),
        "fail_on": runs[0].get("fail_on"),
        "seed": seeds.pop() if len(seeds) == 1 else None,
        "chat_model": _joined(run.get("chat_model") for run in runs),
        "image_model": _joined(run.get("image_model") for run in runs),
        "model_choice": _distinct(note for run in runs for note in run.get("model_choice") or ()),
        "started": min(str(run.get("started")) for run in runs),
        "duration_s": round(sum(float(run.get("duration_s") or 0) for run in runs), 2),
        "workers": sum(int(run.get("workers") or 1) for run in runs),
        "max_requests": sum(int(run.get("max_requests") or 0) for run in runs),
        "spend": spend,
        "estimated_cost": _cost(runs),
        "report_dir": out_dir,
        "shards": [entry for shard in shards for entry in _shard_facts(shard)],
    }
    models = _joined((run.get("models") for run in runs), ",")
    if models is not None:
        merged["models"] = models
    return merged


def _shard_facts(shard: Shard) -> list[dict[str, Any]]:
    """What the merged report says of each input; a merged input brings its own shards."""
    run = shard.run
    if run.get("shards"):
        return list(run["shards"])
    keys = ("target", "profile", "models", "chat_model", "image_model", "seed", "started")
    return [
        {
            "label": shard.label,
            "source": shard.source,
            **{key: run.get(key) for key in keys},
            "duration_s": run.get("duration_s"),
            "overall": shard.summary["gate"].get("verdict"),
            "spend": run.get("spend"),
        }
    ]


def _other_failures(shard: Shard) -> int:
    for reason in shard.summary["gate"].get("reasons") or ():
        found = _OTHER_FAILURES.match(str(reason))
        if found:
            return int(found.group(1))
    return 0


def _cost(runs: list[dict[str, Any]]) -> str | None:
    """The shards' estimated costs added up; unknown when any shard's is."""
    total = Decimal(0)
    for run in runs:
        cost = run.get("estimated_cost")
        try:
            total += Decimal(str(cost).split()[0])
        except (InvalidOperation, IndexError):
            return None
    return f"{total:.6f} (price-list units x tokens; the unit is not asserted)"


def _profile_rank(profile: str) -> int:
    ranks: dict[str, int] = {name: rank for rank, name in enumerate(PROFILES)}
    return ranks.get(profile, -1)


def _distinct(values: Any) -> list[str]:
    """Non-empty values as text, each once, in first-seen order."""
    return list(dict.fromkeys(str(v) for v in values if v not in (None, "")))


def _joined(values: Any, sep: str = ", ") -> str | None:
    return sep.join(_distinct(values)) or None
