"""bench/ingest.py runs every subscriber, each receives every event, and it prints the ratios
to pusher-js (a smoke test: the figures are for humans, CI machines are too noisy to assert
on them)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_ingest_benchmark_runs_every_subscriber_and_prints_the_ratios(
    repo_env: dict[str, str],
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--events", "3000", "--repeat", "1"],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines()
            if line.startswith("| ")}
    for kind in ("ws-default", "ws-skip-utf8", "pysher", "pusher-js", "rxpusher",
                 "rxpusher-stdlib"):
        assert kind in rows and "failed" not in rows[kind], done.stdout
    assert "| pusher-js |" in done.stdout and "1.00x" in rows["pusher-js"]
    assert "rxpusher >= 1.5x pusher-js" in done.stdout
    assert "rxpusher-stdlib >= 1.0x pusher-js" in done.stdout
