"""Throughput and peak memory of the Scrubbed-wfpdiag.txt parser, against `grep -c` on the same file.

Run by hand: `.venv/bin/python bench/parse_bench.py [--mb 200] [--repeat 3]`. Generates a realistic trace
(mostly ordinary ikeext lines, one IKE failure block every ~60 lines, several failure kinds) in a temp dir,
then measures, each in a fresh subprocess so peak RSS is the run's own:
  1. the streaming wfpdiag parser's chunk path over the plain file (what analyse_zip uses, minus the zip),
  2. analyse_zip over a deflated zip of it,
  3. `grep -c "Failure error code"` over the plain file (the baseline),
and prints MB/s, peak RSS and the ratios to grep. Each is run `--repeat` times and the fastest run counts,
so a busy machine disturbs the ratios less.
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
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.logs import codes  # noqa: E402
from sandbox.logsamples import iter_wfpdiag  # noqa: E402

FAILURE_KINDS = [
    (codes.AUTH_FAIL, "IKE/Authip Main Mode Failure", "Remote"),
    (codes.TIMED_OUT, "IKE/Authip Main Mode Failure", "Local"),
    (codes.POLICY_MATCH, "IKE/Authip Quick Mode Failure", "Local"),
    (codes.INVALID_PAYLOAD, "IKE/Authip Main Mode Failure", "Local"),
]


def generate(path: Path, megabytes: int) -> int:
    target = megabytes * 1024 * 1024
    written = 0
    events = 0
    with path.open("w", newline="\r\n") as out:
        start = datetime(2024, 5, 6, 13, 0, 0)
        while written < target:
            batch = list(
                iter_wfpdiag(
                    start,
                    local="203.0.113.92",
                    remote="198.51.100.36",
                    failures=[next(kinds) for _ in range(200)],
                    filler_per_event=60,
                )
            )
            text = "\n".join(batch) + "\n"
            out.write(text)
            written += len(text) + len(batch)  # CRLF
            events += 200
            start = datetime.strptime(batch[-1][14:37], "%m/%d/%Y-%H:%M:%S.%f")
    return events


kinds = cycle(FAILURE_KINDS)


def measure(mode: str, path: str) -> None:
    """Child process body: run one workload, print seconds and peak RSS as JSON."""
    started = time.perf_counter()
    result: object
    if mode in ("wfpdiag", "wfpdiag-lines"):
        from bot.logs.archive import DEFAULT_LIMITS
        from bot.logs.text import TextStats, iter_lines
        from bot.logs.wfpdiag import WfpDiagParser

        parser = WfpDiagParser("Scrubbed-wfpdiag.txt")
        size = DEFAULT_LIMITS.chunk_bytes  # as analyse_zip reads members
        with open(path, "rb", buffering=0) as fh:
            chunks = iter(lambda: fh.read(size), b"")
            if mode == "wfpdiag":
                parser.feed_chunks(chunks, max_line_chars=DEFAULT_LIMITS.max_line_chars, stats=TextStats())
            else:
                for line in iter_lines(
                    chunks, max_line_chars=DEFAULT_LIMITS.max_line_chars, stats=TextStats()
                ):
                    parser.feed(line)
        result = [(f.title, f.data["count"]) for f in parser.finish()]
    elif mode == "zip":
        from bot.logs import analyse_zip

        summary = analyse_zip(Path(path))
        result = [(f.title, f.data["count"]) for f in summary.findings] + summary.problems
    elif mode == "idle":
        import bot.logs  # noqa: F401  - baseline RSS of the interpreter with our modules loaded

        result = None
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - started
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_mib": rss_kib / 1024, "result": result}))


def child(mode: str, path: Path, repeat: int) -> dict[str, object]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", mode, str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(dict(json.loads(out.stdout)))
    return min(runs, key=lambda r: float(str(r["seconds"])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"))
    args = ap.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "Scrubbed-wfpdiag.txt"
        t = time.perf_counter()
        events = generate(log, args.mb)
        size_mb = log.stat().st_size / 1e6
        print(f"generated {size_mb:.0f} MB, {events} failure events in {time.perf_counter() - t:.1f}s")
        zpath = Path(tmp) / "logs.zip"
        t = time.perf_counter()
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.write(log, "Scrubbed-wfpdiag.txt")
        ratio = log.stat().st_size / zpath.stat().st_size
        print(
            f"zipped to {zpath.stat().st_size / 1e6:.1f} MB ({ratio:.1f}:1) in {time.perf_counter() - t:.1f}s"
        )

        grep_s = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            grep = subprocess.run(
                ["grep", "-c", "Failure error code", str(log)], capture_output=True, text=True
            )
            grep_s = min(grep_s, time.perf_counter() - t)
        print(f"grep -c: {grep.stdout.strip()} matches in {grep_s:.2f}s = {size_mb / grep_s:.0f} MB/s")

        idle_rss = float(child("idle", log, 1)["rss_mib"])  # type: ignore[arg-type]
        runs = [
            ("wfpdiag parser, chunk path", child("wfpdiag", log, args.repeat)),
            ("wfpdiag parser, line by line", child("wfpdiag-lines", log, args.repeat)),
            ("analyse_zip on the zip", child("zip", zpath, args.repeat)),
        ]
        for label, run in runs:
            seconds = float(run["seconds"])  # type: ignore[arg-type]
            rss = float(run["rss_mib"])  # type: ignore[arg-type]
            print(
                f"{label}: {seconds:.2f}s = {size_mb / seconds:.0f} MB/s, {seconds / grep_s:.1f}× grep; "
                f"peak RSS {rss:.0f} MiB ({rss - idle_rss:.0f} MiB above an idle interpreter)"
            )
            print(f"  → {run['result']}")


if __name__ == "__main__":
    main()
