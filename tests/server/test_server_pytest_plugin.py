"""The pytest plugin (entry point ``pytest11``) in a venv without the ``server`` extra: it
must not break unrelated test suites, and the fixture says which extra it needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bare_venv


@pytest.fixture(scope="session")
def bare_python() -> Path:
    return bare_venv.ensure()


def run_pytest(python: Path, where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=where, env=bare_venv.clean_env(), capture_output=True, text=True,
                          timeout=120, check=False)


def test_an_unrelated_suite_runs_where_the_server_extra_is_missing(bare_python: Path,
                                                                   tmp_path: Path) -> None:
    (tmp_path / "test_unrelated.py").write_text("def test_sum():\n    assert 1 + 1 == 2\n")
    done = run_pytest(bare_python, tmp_path, "test_unrelated.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "websockets" not in done.stdout + done.stderr


def test_the_fixture_names_the_missing_extra(bare_python: Path, tmp_path: Path) -> None:
    (tmp_path / "test_uses_fixture.py").write_text(
        "def test_server(pusher_server):\n    pass\n")
    done = run_pytest(bare_python, tmp_path, "test_uses_fixture.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pip install 'rxpusher[server]'" in done.stdout
    assert "Traceback" not in done.stdout
