"""bench/aio_bridge.py runs and reports both bridges and their ratio (a smoke test: the
figures themselves are for humans, CI machines are too noisy to assert on them)."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT


def test_aio_bridge_benchmark_reports_a_ratio(repo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "aio_bridge.py"), "--items", "5000", "--repeat", "1",
         "--json"],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["iterate_items_per_s"] > 0 and report["naive_items_per_s"] > 0
    assert report["ratio"] > 0
    assert report["naive_wakeups"] == 5001
    assert report["iterate_wakeups"] < 5001  # bursts share wake-ups
