"""Shared by the documentation tests: the repository root and a subprocess environment in
which ``rxpusher`` imports from this checkout even when it is not installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"          # matplotlib never opens a window in CI
    env["PYTHONUNBUFFERED"] = "1"
    return env
