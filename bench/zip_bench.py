"""Peak memory and time of reading hostile log zips, against a real Azure-like zip read in the same run.

Run by hand: `.venv/bin/python -m bench.zip_bench [--entries 1500000]`. Each workload runs in a fresh
subprocess so its peak RSS is its own:
  - `normal`: analyse_zip over a realistic troubleshoot zip (the baseline),
  - `many`: analyse_zip over a zip of `--entries` empty members (ZIP64 end record),
  - `many-lying`: the same zip whose end record claims 3 entries (the directory size still gives it away),
  - `bomb`: 1 GiB of zeros deflated to ~1 MiB, header honest,
  - `zipfile-many`: `zipfile.ZipFile(...).infolist()` over the `many` zip: what the old reader did first.
Prints seconds, peak RSS and the ratio of each to the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.logsamples import build_log_zip, write_many_entries_zip, zip_bomb  # noqa: E402


def bomb(path: Path) -> None:
    path.write_bytes(zip_bomb(gib=1))


def measure(mode: str, path: str) -> None:
    started = time.perf_counter()
    result: object
    if mode == "zipfile-many":
        with zipfile.ZipFile(path) as zf:
            result = len(zf.infolist())
    else:
        from bot.logs import analyse_zip

        result = analyse_zip(Path(path)).problems[:2]
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mib": rss, "result": result}))


def child(mode: str, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.zip_bench", "--measure", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_500_000)
    ap.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"))
    args = ap.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        normal, many, lying, bombed = (
            Path(tmp) / n for n in ("normal.zip", "many.zip", "lying.zip", "bomb.zip")
        )
        normal.write_bytes(build_log_zip("auth_psk_mismatch", target_name="cn-a", when=datetime(2024, 5, 6)))
        with many.open("wb") as out:
            write_many_entries_zip(out, args.entries, zip64=True)
        with lying.open("wb") as out:
            write_many_entries_zip(out, args.entries, claimed=3)
        bomb(bombed)
        runs = {
            "normal": child("normal", normal),
            "many": child("many", many),
            "many-lying": child("many-lying", lying),
            "bomb": child("bomb", bombed),
            "zipfile-many": child("zipfile-many", many),
        }
    base = runs["normal"]
    print(f"{'workload':<14}{'seconds':>10}{'peak RSS MiB':>14}{'RSS / normal':>14}")
    for name, run in runs.items():
        rss = float(str(run["rss_mib"]))
        ratio = rss / float(str(base["rss_mib"]))
        print(f"{name:<14}{float(str(run['seconds'])):>10.2f}{rss:>14.0f}{ratio:>14.2f}  {run['result']}")


if __name__ == "__main__":
    main()
