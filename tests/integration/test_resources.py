"""Resource hygiene against soketi and the local server: close() ends every thread, cycles do
not leak."""

from __future__ import annotations

import gc
import threading

import pytest

import rxpusher
from helpers.soketi_harness import AuthServer, Collector, wait_for, wait_state

pytestmark = pytest.mark.integration


def _foreign(thread: threading.Thread) -> bool:
    """Threads of the test machinery itself (the auth endpoint and its request handlers)."""
    return thread.name.startswith("test-auth-server") or "process_request_thread" in thread.name


def _new_threads(before: set[threading.Thread]) -> list[str]:
    return sorted(
        f"{t.name} (daemon={t.daemon})"
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not _foreign(t)
    )


def _connected(pusher: rxpusher.Pusher) -> None:
    states = Collector("state")
    d = states.subscribe_to(pusher.state)
    states.wait_value("connected")
    d.dispose()


def test_close_ends_every_library_thread(soketi, unique):
    endpoint = AuthServer(soketi.sdk)
    try:
        before = set(threading.enumerate())
        pusher = rxpusher.Pusher(
            soketi.key,
            **soketi.client_options(
                auth_endpoint=endpoint.url,
                activity_timeout=0.5,
                reconnect=rxpusher.Backoff(initial=0.1, maximum=1.0),
            ),
        )
        public, private = unique("hygiene"), unique("private-hygiene")
        room = unique("presence-hygiene")
        got = {n: Collector(n) for n in (public, private, room)}
        for n, c in got.items():
            c.subscribe_to(pusher.channel(n).events("e"))
        members = Collector("members")
        members.subscribe_to(pusher.channel(room).members)
        soketi.wait_occupied(public)
        soketi.wait_occupied(private)
        soketi.wait_occupied(room)
        soketi.sdk.trigger([public, private, room], "e", 1)
        for c in got.values():
            c.wait_count(1)
        assert _new_threads(before), "the client is expected to run at least a reader thread"

        pusher.close()

        assert _new_threads(before) == [], "threads left alive after close()"
        for c in got.values():
            c.wait_completed(timeout=1)
        members.wait_completed(timeout=1)
        pusher.close()  # idempotent
    finally:
        endpoint.close()


def test_close_completes_every_stream(soketi, unique):
    pusher = rxpusher.Pusher(soketi.key, **soketi.client_options())
    streams = {
        "frames": pusher.frames,
        "messages": pusher.messages,
        "state": pusher.state,
        "errors": pusher.errors,
        "events()": pusher.events(),
        "events(name)": pusher.events("e"),
        "channel.events()": pusher.channel(unique("complete")).events(),
        "channel.state": pusher.channel(unique("complete-state")).state,
    }
    collectors = {}
    for label, stream in streams.items():
        collectors[label] = Collector(label)
        collectors[label].subscribe_to(stream)
    _connected(pusher)
    pusher.close()
    for c in collectors.values():
        c.wait_completed(timeout=2)
        assert c.error is None, c.name


def test_connect_close_cycles_do_not_leak_threads(soketi, unique):
    # Clients other tests left unclosed are closed when collected, ending the shared I/O and
    # timer threads they kept alive: collect them now, not while threads are counted.
    gc.collect()
    before = set(threading.enumerate())
    count_before = threading.active_count()
    name = unique("cycles")
    for i in range(100):
        pusher = rxpusher.Pusher(soketi.key, **soketi.client_options())
        if i % 2:
            # half the cycles subscribe a channel and wait for the handshake
            keep = pusher.channel(name).events().subscribe()
            _connected(pusher)
            keep.dispose()
        pusher.close()
    assert _new_threads(before) == []
    assert threading.active_count() <= count_before  # threads of earlier tests may end meanwhile


def test_close_while_connecting_to_a_dead_port(unique):
    from helpers.soketi_harness import HOST, free_port

    before = set(threading.enumerate())
    dead = free_port()
    for _ in range(10):
        pusher = rxpusher.Pusher(
            "some-key",
            host=HOST,
            ws_port=dead,
            use_tls=False,
            reconnect=rxpusher.Backoff(initial=0.05, maximum=0.1),
        )
        pusher.channel(unique("nowhere")).events().subscribe()
        wait_state(pusher, "connecting")
        pusher.close()
    assert _new_threads(before) == []


def test_close_inside_an_observer_on_the_reader_thread(soketi):
    before = set(threading.enumerate())
    pusher = rxpusher.Pusher(soketi.key, **soketi.client_options(auto_connect=False))
    errors = Collector("errors")
    errors.subscribe_to(pusher.errors)
    threads: list[str] = []

    def on_state(state: str) -> None:
        if state == "connected":
            threads.append(threading.current_thread().name)
            pusher.close()

    pusher.state.subscribe(on_state)
    pusher.connect()
    errors.wait_completed()
    assert threads == ["rxpusher-reader"]
    assert errors.violations == []
    wait_for(lambda: not _new_threads(before), message="no library thread left")
