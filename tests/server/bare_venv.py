"""A virtualenv with rxpusher installed *without* extras (no ``websockets``), plus pytest:
what a user who ran ``pip install rxpusher`` has.

Built once, in ``.venv-bare`` at the top of the checkout (git-ignored), with an editable
install so that it always runs this checkout's code; rebuilt when it is missing or broken.
Run this file to build it ahead of the tests (``python tests/server/bare_venv.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-bare"
PYTHON = VENV / "bin" / "python"

# Prints where rxpusher comes from; fails if websockets (the server extra) is importable.
PROBE = """
import importlib.util, rxpusher, pytest
assert importlib.util.find_spec("websockets") is None, "websockets leaked in"
print(rxpusher.__file__)
"""


def clean_env() -> dict[str, str]:
    """The environment without anything that would add packages to the bare venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    return env


def healthy() -> bool:
    if not PYTHON.exists():
        return False
    probe = subprocess.run([str(PYTHON), "-c", PROBE], cwd="/", env=clean_env(),
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0 and probe.stdout.strip().startswith(str(ROOT / "rxpusher"))


def ensure() -> Path:
    """The bare venv's python, building the venv if needed."""
    if not healthy():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", str(ROOT),
                        "pytest"], env=clean_env(), check=True)
        if not healthy():
            raise RuntimeError(f"{VENV} does not give rxpusher without extras")
    return PYTHON


if __name__ == "__main__":
    print(ensure())
