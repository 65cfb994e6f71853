"""bench/bridge.py runs every row against real soketi, redis-server and nats-server, writes
every event in each, and prints the sink / bare ratios (a smoke test: the figures are for
humans, CI machines are too noisy to assert on them)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT

ROWS = ("received", "redis e2e", "nats e2e", "redis sink", "redis bare", "nats sink",
        "nats bare")


def test_bridge_benchmark_reports_each_broker_against_a_bare_writer(
        repo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bridge.py"), "--events", "400", "--repeat", "1"],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rates = dict(re.findall(r"^(\w+(?: \w+)?)\s+([\d,]+) events/s$", done.stdout, re.MULTILINE))
    assert set(rates) == set(ROWS), done.stdout
    assert all(int(rate.replace(",", "")) > 0 for rate in rates.values())
    assert "every event written in every row" in done.stdout
    for broker in ("redis", "nats"):
        assert re.search(rf"^{broker} sink / bare: \d+\.\d\dx   e2e / received: \d+\.\d\dx$",
                         done.stdout, re.MULTILINE), done.stdout
