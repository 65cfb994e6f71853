"""Every script in examples/ runs to completion against the local server, exit status 0."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))

# What each example must print (besides exiting 0): evidence that it did its job.
EXPECTED = {
    "ticker.py": ["sma(5)", "prices on 3 channels"],
    "chat.py": ["bob   <- alice: Hi Bob!", "alice <- bob: Bye!", "conversation over"],
    "presence_dashboard.py": ["+ Ada joined", "- u3 left", "everyone came and went"],
    "encrypted_channel.py": ["wire:", "ciphertext", "decrypted: {'id': 2"],
    "asyncio_consumer.py": ["connection: connected", "channel subscribed now: False"],
    "auth_endpoint_flask.py": ["SubscriptionError 403", "private-orders: {'id': 7}"],
}
ARGS = {"ticker.py": ["--seconds", "1.5"], "asyncio_consumer.py": ["--seconds", "1.5"]}


def test_every_example_is_listed() -> None:
    assert EXAMPLES == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_against_the_local_server(name: str, repo_env: dict[str, str]) -> None:
    script = ROOT / "examples" / name
    assert script.read_text().startswith('"""'), "every example starts with how to run it"
    assert "Run" in script.read_text().split('"""')[1]
    done = subprocess.run(
        [sys.executable, str(script), *ARGS.get(name, [])],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=90, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output, output
    for expected in EXPECTED[name]:
        assert expected in done.stdout, output
