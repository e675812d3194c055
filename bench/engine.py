"""Run the suite against a real OpenAI-format server at two concurrencies and compare.

    APEX_API_KEY=ak-... python bench/engine.py --base-url=http://127.0.0.1:8090/v1 \\
        [--profile=full] [--levels=100,1] [--out=DIR] [-- extra pytest options]

Prints, per level, the wall time, the exit code, the spend and the load the target
sustained, then every requirement whose verdict is not `passed`/`info`, side by side. The
verdicts should be the same at every level. Not part of CI: the server is yours to start
(for example llama-cpp-python's `python -m llama_cpp.server` with a small GGUF model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def run(base_url: str, profile: str, level: int, out: Path, extra: list[str]) -> dict:
    report_dir = out / f"concurrency-{level}"
    command = [
        sys.executable, "-m", "pytest", "--pyargs", "conformance.contract", "-q",
        "-p", "no:cacheprovider", f"--base-url={base_url}", f"--profile={profile}",
        f"--concurrency={level}", f"--report-dir={report_dir}", *extra,
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    summary = json.loads((report_dir / "summary.json").read_text("utf-8"))
    return {"level": level, "wall": wall, "exit": proc.returncode, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--levels", default="100,1")
    parser.add_argument("--out", default="reports/engine")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    results = [run(args.base_url, args.profile, lv, Path(args.out), args.extra) for lv in levels]
    for result in results:
        facts = result["summary"]["run"]
        print(
            f"--concurrency={result['level']}: {result['wall']:.1f} s, exit {result['exit']} "
            f"({facts['overall']}), spend {facts['spend']}, load {facts.get('load')}"
        )
    verdicts = [
        {row["id"]: row["verdict"] for row in result["summary"]["requirements"]}
        for result in results
    ]
    print("requirement  " + "  ".join(f"c={r['level']:<8}" for r in results))
    for rid in verdicts[0]:
        row = [v.get(rid, "-") for v in verdicts]
        if any(v not in ("passed", "info") for v in row):
            print(f"{rid:<12} " + "  ".join(f"{v:<10}" for v in row))
    same = all(v == verdicts[0] for v in verdicts)
    print("verdicts: " + ("the same at every level" if same else "DIFFER between levels"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
