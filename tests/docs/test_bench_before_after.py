"""bench/before_after.py compares this checkout with the tree before the core rebuild (a
smoke test: it runs and reports both rows; the figures are for humans)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def test_before_after_reports_both_trees(repo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "before_after.py"), "--repeat", "1", "--events",
         "2000", "--skip-throughput"],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(r"before\s+([\d,]+)\s+after\s+([\d,]+)\s+after/before (\d+\.\d+)x", done.stdout)
    assert len(rows) == 2 and all(float(ratio) > 0 for *_, ratio in rows)
