"""The client before and after a change, measured side by side in one run.

Run from the repository root:  python bench/before_after.py [--rev 21ca6e7] [--repeat 3]

The tree of ``--rev`` (default: the last commit before the core rebuild) is extracted with
``git archive`` into a temporary directory. Then, alternating the two trees round by round:

- ``bench/routing.py`` (in-process, no network: ns per event through decode, routing and
  one observer, 1 and 10,000 channels), each tree in its own process;
- ``bench/throughput.py`` with the kinds ``bare``, ``rxpusher`` (this checkout) and
  ``rxpusher-baseline`` (the old tree) on one soketi: burst events/s, paced latency.

Each figure is printed as measured, with the ratio new / old.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REBUILD = "21ca6e7"


def extract(rev: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", rev, "rxpusher"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryFile() as file:
        file.write(archive)
        file.seek(0)
        with tarfile.open(fileobj=file) as tar:
            tar.extractall(into, filter="data")


def routing(src: Path | None, events: int) -> dict[str, float]:
    """ns per event of the 1- and 10,000-channel rows of bench/routing.py."""
    env = dict(os.environ)
    if src is not None:
        env["RXPUSHER_SRC"] = str(src)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "routing.py"), "--events",
                          str(events), "--repeat", "3"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        match = re.match(r"\s*(1|10,000)\s+([\d,]+)\s+([\d,]+)\s*$", line)
        if match:
            rows[match.group(1)] = float(match.group(2).replace(",", ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default=BEFORE_REBUILD, help="the tree to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp)
        extract(args.rev, old)
        print(f"routing (ns per event, lower is better), {args.rev} vs this checkout")
        samples: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
        for _ in range(args.repeat):
            for name, src in (("old", old), ("new", None)):
                for row, value in routing(src, args.events).items():
                    samples[name].setdefault(row, []).append(value)
        for row in ("1", "10,000"):
            before = statistics.median(samples["old"][row])
            after = statistics.median(samples["new"][row])
            print(f"  {row:>6} channel(s): before {before:7,.0f}  after {after:7,.0f}  "
                  f"after/before {after / before:.2f}x")
        if args.skip_throughput:
            return 0
        print(f"\nend to end through soketi (bench/throughput.py), {args.rev} as rxpusher-baseline")
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "throughput.py"), "--kinds",
             "bare,rxpusher,rxpusher-baseline", "--baseline", str(old), "--repeat",
             str(args.repeat)], cwd=ROOT)
        return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
