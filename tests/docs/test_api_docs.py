"""The API reference builds (docs/build.py with pdoc) and covers every public name."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytest.importorskip("pdoc")


def load_build():  # docs/ is not a package: load docs/build.py by path
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_builds_and_lists_every_exported_name(tmp_path: Path,
                                                            repo_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--strict",
                           "--output", str(tmp_path)],
                          cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index.html", "rxpusher.html", "rxpusher/aio.html", "rxpusher/testing.html",
                 "rxpusher/server.html", "rxpusher/notebook.html"):
        assert (tmp_path / page).is_file(), page
    rxpusher_page = (tmp_path / "rxpusher.html").read_text(encoding="utf-8")
    for name in ("Pusher", "Channel", "User", "Event", "Members", "Backoff", "SubscriptionError",
                 "ServerRefusedError", "ConnectAttemptError", "ConnectionState", "ChannelState",
                 "Interruption", "Health", "replay", "close_all"):
        assert f'id="{name}"' in rxpusher_page, name
    # every option of Pusher, with its meaning, in the package's page (a table)
    import inspect

    from rxpusher import Pusher

    for option in inspect.signature(Pusher.__init__).parameters:
        if option not in ("self", "key", "unknown"):
            assert f"<code>{option}</code>" in rxpusher_page, option
    aio_page = (tmp_path / "rxpusher" / "aio.html").read_text(encoding="utf-8")
    for name in ("iterate", "first", "ObservableIterator", "BufferOverflowError", "drop_oldest"):
        assert name in aio_page, name
    kit_page = (tmp_path / "rxpusher" / "notebook.html").read_text(encoding="utf-8")
    for name in ("RollingFrame", "LiveDisplay", "live_table", "live_chart", "status_line",
                 "Status"):
        assert f'id="{name}"' in kit_page, name


def test_the_broker_bridges_are_fully_documented() -> None:
    import rxpusher.bridge

    assert load_build().missing_docstrings(rxpusher.bridge) == []


def test_the_asyncio_bridge_is_fully_documented() -> None:
    import rxpusher.aio

    assert load_build().missing_docstrings(rxpusher.aio) == []


def test_the_notebook_kit_is_fully_documented() -> None:
    import rxpusher.notebook

    assert load_build().missing_docstrings(rxpusher.notebook) == []
