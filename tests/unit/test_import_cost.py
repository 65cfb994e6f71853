"""``import rxpusher`` stays light: ``requests`` (only for auth endpoints) and orjson (only at
the first decode) are imported when used, not by the package itself."""

from __future__ import annotations

import subprocess
import sys


def _run_fresh(code: str) -> None:
    """Run ``code`` in a new interpreter (nothing imported yet); fail with its stderr."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_import_rxpusher_imports_neither_requests_nor_orjson() -> None:
    _run_fresh(
        "import sys, rxpusher\n"
        "heavy = sorted(m for m in ('requests', 'urllib3', 'orjson') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "rxpusher.Pusher('key', auto_connect=False).close()\n"
        "assert 'requests' not in sys.modules\n"
    )


def test_orjson_is_imported_at_the_first_decode() -> None:
    _run_fresh(
        "import importlib.util, sys\n"
        "from rxpusher import _protocol as protocol\n"
        "assert 'orjson' not in sys.modules\n"
        "assert protocol.decode_frame('{\"event\":\"e\",\"data\":\"{\\\\\"a\\\\\":1}\"}').data == {'a': 1}\n"
        "if importlib.util.find_spec('orjson') is None:\n"
        "    assert protocol.fast_backend() is None  # the extra is not installed\n"
        "else:\n"
        "    assert protocol.fast_backend() is sys.modules['orjson'].loads\n"
    )
