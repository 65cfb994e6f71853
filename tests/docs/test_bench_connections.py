"""bench/connections.py runs in a tiny configuration (10 clients per mode), every ping and
event is delivered, and it prints its table, the targets and the chart (a smoke test: the
figures are for humans, CI machines are too noisy to assert on them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_connections_benchmark_delivers_everything_and_prints_its_table(
    repo_env: dict[str, str], tmp_path: Path,
) -> None:
    chart = tmp_path / "connections.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "connections.py"), "--n", "10", "--io", "shared",
         "dedicated", "--seconds", "1", "--events", "2", "--chart", str(chart)],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("|") for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0][1].strip() == "clients"
    by_mode = {row[2].strip(): row for row in rows[1:]}
    assert set(by_mode) == {"shared", "dedicated"}
    header = [cell.strip() for cell in rows[0]]
    for row in by_mode.values():
        cells = [cell.strip() for cell in row]
        assert cells[header.index("pongs")] == "20/20"  # one steady round and the burst
        assert cells[header.index("events")] == "20/20"
    assert "ok   every ping and event delivered" in done.stdout
    assert chart.stat().st_size > 10_000
