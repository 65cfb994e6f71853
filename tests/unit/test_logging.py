"""Logging: silent by default, bounded, and never leaking secrets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from rxpusher._auth import sign


def test_an_application_without_logging_configured_gets_nothing_on_stderr() -> None:
    code = (
        "from rxpusher import Pusher\n"
        "from rxpusher.testing import ScriptedServer\n"
        "from reactivex.testing import TestScheduler\n"
        "s = ScriptedServer(); p = Pusher('k', transport=s.transport, timer_scheduler=TestScheduler())\n"
        "s.handshake()\n"
        "for _ in range(1000): s.current.receive('not json')\n"
        "p.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""


def test_repeated_warnings_are_rate_limited(pusher, server, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="rxpusher"):
        for _ in range(1000):
            server.current.receive("not json")
    assert len(caplog.records) <= 6


def test_debug_logs_hold_no_signature_and_no_presence_user_info(make_pusher, server, caplog) -> None:
    p = make_pusher(secret="s3cret", channel_data={"user_id": "1", "user_info": {"email": "me@x"}})
    with caplog.at_level(logging.DEBUG, logger="rxpusher"):
        server.handshake()
        p.channel("presence-room").members.subscribe()
        p.channel("private-c").events().subscribe()
        server.succeed("presence-room", {"presence": {"ids": ["1", "2"], "count": 2,
                                                      "hash": {"1": {"email": "me@x"},
                                                               "2": {"email": "you@y"}}}})
        server.push("pusher_internal:member_added", {"user_id": "3", "user_info": {"email": "z@z"}},
                    channel="presence-room")
    text = "\n".join(r.getMessage() for r in caplog.records)
    signature = sign("s3cret", f"{p.socket_id}:private-c")
    assert "recv" in text  # frames are logged...
    for secret in (signature, "me@x", "you@y", "z@z"):
        assert secret not in text  # ...without what must stay private
    assert json.dumps("<redacted>") in text or "<redacted>" in text
