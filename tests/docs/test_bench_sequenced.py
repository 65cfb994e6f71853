"""bench/sequenced.py runs every kind, each delivers every event once, and it prints the
ratios to the plain stream (a smoke test: the figures are for humans, CI machines are too
noisy to assert on them)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def test_sequenced_benchmark_reports_each_kind_against_plain(repo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sequenced.py"), "--events", "2000", "--repeat", "1"],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(re.findall(r"^(plain|sequenced|sequenced x2)\s+[\d,]+ ns\s+(\d+\.\d\d)x plain$",
                           done.stdout, re.MULTILINE))
    assert set(rows) == {"plain", "sequenced", "sequenced x2"} and rows["plain"] == "1.00", done.stdout
    assert "dropped 2,000 duplicates" in done.stdout
    assert re.search(r"sequenced / plain: \d+\.\d\dx\s+\(target <= 1\.3x: (met|NOT met)\)", done.stdout)
