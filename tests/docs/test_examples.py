"""Every script in examples/ runs to completion against the local server, exit status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from reactivex import operators as ops

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
    "record_demo_feed.py": ["recorded 45 frames (40 prices"],
    "redundant_feed.py": ["cutting connection a", "cutting connection b",
                          "each once, in order: True", "gaps: 0, backfilled: 0"],
    "refetch_on_interruption.py": ["loaded 2 orders over HTTP", "live event: order 3",
                                   "refetched 5 orders", "live event: order 6",
                                   "all 6 orders present"],
    "worker_fleet.py": ["redis fleet: 30 orders, each handled once by one of 3 workers",
                        "nats fleet: 30 orders, each handled once by one of 3 workers"],
}
# What each example must not print.
UNEXPECTED = {"refetch_on_interruption.py": ["live event: order 4", "live event: order 5"]}
ARGS = {"ticker.py": ["--seconds", "1.5"], "asyncio_consumer.py": ["--seconds", "1.5"],
        # not over the committed recording: into the test's own folder ({tmp})
        "record_demo_feed.py": ["--prices", "40", "--output", "{tmp}/feed.jsonl"]}


def test_every_example_is_listed() -> None:
    assert EXAMPLES == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_against_the_local_server(name: str, repo_env: dict[str, str],
                                               tmp_path: Path) -> None:
    script = ROOT / "examples" / name
    assert script.read_text().startswith('"""'), "every example starts with how to run it"
    assert "Run" in script.read_text().split('"""')[1]
    done = subprocess.run(
        [sys.executable, str(script), *(a.format(tmp=tmp_path) for a in ARGS.get(name, []))],
        cwd=ROOT, env=repo_env, capture_output=True, text=True, timeout=90, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output, output
    for expected in EXPECTED[name]:
        assert expected in done.stdout, output
    for unexpected in UNEXPECTED.get(name, []):
        assert unexpected not in done.stdout, output


def test_the_recorded_demo_feed_is_small_and_replays() -> None:
    import rxpusher

    recording = ROOT / "examples" / "data" / "market_feed.jsonl"
    assert recording.stat().st_size < 1_000_000
    with rxpusher.replay(recording, speed=None, auto_connect=False) as replayed:
        prices: list[float] = []
        replayed.channel("AAPL").events("new-price").subscribe(lambda d: prices.append(d["price"]))
        replayed.connect()
        replayed.state.pipe(ops.filter(lambda s: s == "disconnected"), ops.first(),
                            ops.timeout(10)).run()     # after the last frame
    assert len(prices) >= 250
