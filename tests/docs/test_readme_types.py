"""The Python in README and the guide type-checks as users copy it (``mypy --strict``), the
quickstart runs as a script until Ctrl-C, and the typed-lambda advice stays true."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "guide.md"

# What the README says fails: a bare lambda in a generic reactivex operator.
UNTYPED_LAMBDA = '''\
from reactivex import operators as ops
from rxpusher import Pusher

pusher = Pusher("APP_KEY", cluster="eu")
prices = pusher.channel("AAPL").events("new-price")
prices.pipe(ops.map(lambda d: d["price"])).subscribe(print)
'''


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def is_self_contained(block: str) -> bool:
    """A block that starts with its imports is a whole program; others are fragments."""
    code = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return bool(code) and code[0].startswith(("from ", "import "))


def checked_blocks() -> dict[str, str]:
    blocks = {f"readme_{i}": block for i, block in enumerate(python_blocks(README))}
    blocks.update({f"guide_{i}": block for i, block in enumerate(python_blocks(GUIDE))
                   if is_self_contained(block)})
    return blocks


def test_every_readme_snippet_is_a_whole_program() -> None:
    blocks = python_blocks(README)
    assert blocks
    for block in blocks:
        assert is_self_contained(block), block
        assert "type: ignore" not in block and "cast(" not in block, block


def test_the_guide_has_self_contained_snippets_to_check() -> None:
    assert len([b for b in python_blocks(GUIDE) if is_self_contained(b)]) >= 8


def test_snippets_pass_mypy_strict_and_the_untyped_lambda_fails(tmp_path: Path) -> None:
    blocks = checked_blocks()
    for name, block in blocks.items():
        (tmp_path / f"{name}.py").write_text(block, encoding="utf-8")
    (tmp_path / "untyped_lambda.py").write_text(UNTYPED_LAMBDA, encoding="utf-8")
    env = dict(os.environ, MYPYPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(tmp_path / ".mypy_cache"),
         *sorted(p.name for p in tmp_path.glob("*.py"))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    ours = [line for line in errors if not line.startswith("untyped_lambda.py")]
    assert ours == [], "\n".join(ours) + "\n" + done.stderr
    # README explains this error and how to avoid it; if reactivex ever types bare lambdas,
    # the advice needs updating.
    assert any('Value of type "object" is not indexable' in line for line in errors), done.stdout


def test_the_readme_quickstart_keeps_running_until_ctrl_c(tmp_path: Path,
                                                          repo_env: dict[str, str]) -> None:
    pytest.importorskip("websockets")
    from rxpusher.server import LocalServer

    quickstart = python_blocks(README)[0]
    assert quickstart.rstrip().splitlines()[-1].startswith("pusher.run_forever()")
    line = 'pusher = Pusher("APP_KEY", cluster="eu")'
    assert line in quickstart
    with LocalServer() as server:
        local = (f'pusher = Pusher({server.key!r}, host={server.host!r}, '
                 f'ws_port={server.port}, use_tls=False)')
        script = tmp_path / "quickstart.py"
        script.write_text(quickstart.replace(line, local), encoding="utf-8")
        process = subprocess.Popen([sys.executable, str(script)], env=repo_env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            server.wait_for(lambda: "AAPL" in server.channels(), timeout=20)
            server.trigger("AAPL", "new-price", {"price": 10.5})
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "10.5"
            assert process.poll() is None, "the quickstart exited instead of running on"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0, process.stderr.read() if process.stderr else ""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_block(block: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", block],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_the_guides_offline_snippets_run(tmp_path: Path, repo_env: dict[str, str]) -> None:
    pytest.importorskip("websockets")
    offline = [b for b in python_blocks(GUIDE) if "ScriptedServer" in b or "LocalServer" in b]
    assert len(offline) >= 2
    for block in offline:
        done = run_block(block, tmp_path, repo_env)
        assert done.returncode == 0 and "Warning" not in done.stderr, block + done.stderr


def test_the_guides_replay_snippet_plays_a_recording(tmp_path: Path,
                                                     repo_env: dict[str, str]) -> None:
    (block,) = [b for b in python_blocks(GUIDE) if "replay(" in b]
    frames = [
        {"event": "pusher:connection_established",
         "data": '{"socket_id": "1.1", "activity_timeout": 120}'},
        {"event": "pusher_internal:subscription_succeeded", "channel": "AAPL", "data": "{}"},
        {"event": "new-price", "channel": "AAPL", "data": '{"price": 10.5}'},
    ]
    import json

    lines = [json.dumps({"t": i * 600.0, "frame": json.dumps(f)}) for i, f in enumerate(frames)]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_block(block, tmp_path, repo_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["{'price': 10.5}"], done.stdout + done.stderr
