"""Packaging metadata (PEP 621 in pyproject.toml), the licence, the changelog and the guard
against old Pythons. CI also builds the sdist and the wheel, checks them and runs the unit
suite against the installed wheel (see .ci/run)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_metadata_is_declared_in_pyproject() -> None:
    assert PROJECT["name"] == "rxpusher"
    assert PROJECT["requires-python"] == ">=3.11"
    assert PROJECT["license"] == "MIT"
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in PROJECT["classifiers"]
    assert {"Source", "Issues", "Changelog", "Documentation"} <= set(PROJECT["urls"])
    assert PROJECT["scripts"] == {"rxpusher": "rxpusher._cli:main"}
    assert PROJECT["entry-points"]["pytest11"] == {
        "rxpusher_server": "rxpusher.server.pytest_plugin"}


def test_extras() -> None:
    extras = PROJECT["optional-dependencies"]
    assert {"encryption", "server", "socks", "test", "fast", "notebook"} <= set(extras)
    assert extras["fast"] == ["orjson>=3.9"]
    names = {extra: {req.split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("~")[0]
                     for req in reqs} for extra, reqs in extras.items()}
    assert {"ipykernel", "pandas", "matplotlib", "nbclient", "nbformat"} <= names["notebook"]
    assert {"hypothesis", "orjson", "pytest"} <= names["test"]
    # the brokers' own clients for rxpusher.bridge, and in the test extra for its tests
    assert names["redis"] == {"redis"} and names["nats"] == {"nats-py"}
    assert {"redis", "nats-py"} <= names["test"]


def test_setup_py_is_a_thin_entry() -> None:
    source = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert "setup(url=" in source and "install_requires" not in source


def test_licence_and_changelog() -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Keep a Changelog" in changelog and "## [Unreleased]" in changelog


def test_a_source_install_on_an_old_python_stops_with_a_clear_message() -> None:
    pretend = ("import sys; sys.version_info = (3, 10, 14, 'final', 0); "
               "sys.argv = ['setup.py', '--version']; "
               "exec(compile(open('setup.py').read(), 'setup.py', 'exec'))")
    done = subprocess.run([sys.executable, "-c", pretend], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "rxpusher needs Python 3.11 or later; this is Python 3.10" in done.stderr
    assert "Traceback" not in done.stderr
