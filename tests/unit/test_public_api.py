"""The public surface: what DESIGN.md promises is importable from ``rxpusher`` itself."""

from __future__ import annotations

import inspect

import rxpusher
from rxpusher import _exceptions as exceptions


def test_the_settled_names_are_exported() -> None:
    for name in ("Pusher", "Channel", "Event", "Member", "Members", "Backoff", "PusherError",
                 "SubscriptionError", "ConnectionRefused", "ProtocolError"):
        assert name in rxpusher.__all__
        assert getattr(rxpusher, name) is not None


def test_every_exception_is_a_pusher_error_exported_from_the_package() -> None:
    classes = [c for _, c in inspect.getmembers(exceptions, inspect.isclass)
               if c.__module__ == exceptions.__name__]
    assert len(classes) >= 8
    for cls in classes:
        assert issubclass(cls, rxpusher.PusherError), cls
        assert cls.__name__ in rxpusher.__all__, cls
        assert getattr(rxpusher, cls.__name__) is cls


def test_everything_in_all_has_a_docstring() -> None:
    for name in rxpusher.__all__:
        if name == "__version__":
            continue
        assert inspect.getdoc(getattr(rxpusher, name)), name


def test_the_local_server_without_its_extra_names_the_extra() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['websockets'] = None\n"
            "try:\n"
            "    from rxpusher.server import LocalServer\n"
            "except ModuleNotFoundError as exc:\n"
            "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert "needs the server extra" in done.stdout and "pip install 'rxpusher[server]'" in done.stdout
