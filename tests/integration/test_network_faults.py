"""Network faults between the client and a real soketi, through a fault-injecting proxy
(``helpers.fault_proxy``): silent paths one way and both ways, a path that stalls in the
middle of a frame, a slow link, flaps, and what must hold through them (issue 16, "Network
faults").

Liveness runs with ``activity_timeout=2, pong_timeout=1``: a dead path must be detected
within their sum (plus a margin for a shared machine), a live one never taken for dead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rxpusher
from helpers.fault_proxy import FaultProxy
from helpers.soketi_harness import AuthServer, Soketi, wait_for, wait_state

ACTIVITY, PONG = 2.0, 1.0
WINDOW = ACTIVITY + PONG
MARGIN = 1.0  # timers and threads on a machine shared by several test runs


@pytest.fixture
def soketi(soketi_only: Soketi) -> Soketi:
    """soketi alone: the faults are the proxy's, the server is the reference one."""
    return soketi_only


@pytest.fixture
def proxies(soketi: Soketi) -> Iterator[Callable[[], FaultProxy]]:
    made: list[FaultProxy] = []

    def make() -> FaultProxy:
        proxy = FaultProxy(soketi.port)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture
def clients(soketi: Soketi) -> Iterator[Callable[..., rxpusher.Pusher]]:
    made: list[rxpusher.Pusher] = []

    def make(proxy: FaultProxy, **options: Any) -> rxpusher.Pusher:
        options.setdefault("activity_timeout", ACTIVITY)
        options.setdefault("pong_timeout", PONG)
        options.setdefault("reconnect", rxpusher.Backoff(initial=0.2, maximum=1.0))
        client = rxpusher.Pusher(soketi.key, **proxy.client_options(soketi, **options))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def auth(soketi: Soketi) -> Iterator[AuthServer]:
    server = AuthServer(soketi.sdk)
    try:
        yield server
    finally:
        server.close()


class Timeline:
    """When each connection state was entered (``time.monotonic``)."""

    def __init__(self, client: rxpusher.Pusher) -> None:
        self.entries: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        client.state.subscribe(self._add)

    def _add(self, state: Any) -> None:
        with self._lock:
            self.entries.append((time.monotonic(), str(state)))

    def left_connected_after(self, moment: float) -> float | None:
        """When the state first left ``connected`` after ``moment``."""
        with self._lock:
            return next((at for at, state in self.entries
                         if at >= moment and state != "connected"), None)

    def states(self) -> list[str]:
        with self._lock:
            return [state for _, state in self.entries]


def _name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


def _connected(client: rxpusher.Pusher) -> None:
    client.wait_connected(timeout=10)


@pytest.mark.parametrize("io", ["shared", "dedicated"])
def test_a_path_silent_in_the_middle_of_a_frame_is_detected_within_the_liveness_window(
        soketi, proxies, clients, io) -> None:
    """Issue 16, item 7: the unfinished frame is not life; its bytes were, when they came."""
    proxy = proxies()
    client = clients(proxy, io=io)
    timeline = Timeline(client)
    channel = _name("stall")
    client.channel(channel).events("big").subscribe(lambda _: None)
    client.channel(channel).wait_subscribed(timeout=10)
    proxy.set("down", "stall")
    soketi.sdk.trigger(channel, "big", "x" * 9_000)
    wait_for(lambda: proxy.stalled_at, 5, message="a frame cut in the middle")
    cut = proxy.stalled_at[0]
    proxy.set("down", "pass")  # the next connections pass; the stalled one stays silent
    detected = wait_for(lambda: timeline.left_connected_after(cut), WINDOW + 2 * MARGIN,
                        message=lambda: f"the stall detected (states {timeline.states()})")
    assert detected - cut <= WINDOW + MARGIN
    _connected(client)  # and the client recovers on a path that works again


def test_a_slow_but_live_link_is_never_taken_for_dead(soketi, proxies, clients) -> None:
    """Frames that take longer than ``activity_timeout + pong_timeout`` to arrive, at
    4 KiB/s: every byte is life (pusher-js fails this one; rxpusher must not)."""
    proxy = proxies()
    client = clients(proxy, activity_timeout=1.0, pong_timeout=0.5)
    timeline = Timeline(client)
    channel = _name("slow")
    got: list[Any] = []
    client.channel(channel).events("big").subscribe(got.append)
    client.channel(channel).wait_subscribed(timeout=10)
    proxy.set("down", "throttle", rate=4096)
    payloads = [str(i) * 9_000 for i in range(3)]  # 2.2 s each at 4 KiB/s
    for payload in payloads:
        soketi.sdk.trigger(channel, "big", payload)
    wait_for(lambda: len(got) == 3, 15, message=lambda: f"3 slow events (got {len(got)})")
    assert got == payloads
    assert timeline.states().count("connected") == 1 and timeline.states()[-1] == "connected"
    assert len(proxy.accepted_at) == 1  # never reconnected


def _trigger_into_a_dead_uplink(client: rxpusher.Pusher, channel: str, stop: threading.Event,
                                durations: list[float], errors: list[BaseException]) -> None:
    """The application keeps sending 16 KB client events: each call is timed."""
    payload = "y" * 16_000
    pace = threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        try:
            client.channel(channel).trigger("client-bulk", payload)
        except rxpusher.PusherError as exc:
            errors.append(exc)
        except Exception as exc:  # noqa: BLE001 - an untyped error fails the test
            errors.append(exc)
        durations.append(time.monotonic() - started)
        pace.wait(0.002)


def _feed(soketi: Soketi, channel: str, stop: threading.Event) -> threading.Thread:
    """The server keeps sending (a tick every 0.2 s): only the uplink is dead."""
    def run() -> None:
        i = 0
        while not stop.wait(0.2):
            try:
                soketi.sdk.trigger(channel, "tick", i)
            except Exception:  # noqa: BLE001 - the server may be busy; the next tick goes
                pass
            i += 1

    thread = threading.Thread(target=run, name="test-feed", daemon=True)
    thread.start()
    return thread


def _dead_uplink_client(soketi: Soketi, proxy: FaultProxy, clients: Callable[..., Any],
                        auth: AuthServer) -> tuple[rxpusher.Pusher, Timeline, str, str]:
    # unpaced (client_event_rate=None): the flood of client events must reach the outbox
    client = clients(proxy, auth_endpoint=auth.url, client_event_rate=None)
    timeline = Timeline(client)
    private, feed = _name("private-uplink"), _name("uplink-feed")
    client.channel(private).events("client-bulk").subscribe(lambda _: None)
    client.channel(feed).events("tick").subscribe(lambda _: None)
    client.channel(private).wait_subscribed(timeout=10)
    client.channel(feed).wait_subscribed(timeout=10)
    return client, timeline, private, feed


def test_a_dead_uplink_never_blocks_trigger_and_is_detected_within_the_liveness_window(
        soketi, proxies, clients, auth) -> None:
    """Issue 16, item 8: the events from the server keep coming, the client's bytes go
    nowhere. ``trigger()`` returns at once or raises a typed error once the outbox is full,
    and the connection is taken for dead within the liveness window."""
    proxy = proxies()
    client, timeline, private, feed = _dead_uplink_client(soketi, proxy, clients, auth)
    stop = threading.Event()
    feeder = _feed(soketi, feed, stop)
    durations: list[float] = []
    errors: list[BaseException] = []
    try:
        proxy.set("up", "silent")
        silenced = time.monotonic()
        sender = threading.Thread(target=_trigger_into_a_dead_uplink, name="test-sender",
                                  args=(client, private, stop, durations, errors), daemon=True)
        sender.start()
        detected = wait_for(lambda: timeline.left_connected_after(silenced),
                            WINDOW + 2 * MARGIN,
                            message=lambda: f"the dead uplink detected ({timeline.states()})")
        assert detected - silenced <= WINDOW + MARGIN
        wait_for(lambda: any("does not drain" in str(e) for e in errors) or
                 any("down" in str(e) for e in errors), 5, message="trigger raising")
    finally:
        stop.set()
        feeder.join(5)
    assert durations and max(durations) < 0.5, max(durations)
    assert all(isinstance(e, rxpusher.SendError) for e in errors), {type(e) for e in errors}
    proxy.set("up", "pass")
    _connected(client)
    client.channel(private).wait_subscribed(timeout=10)


def test_a_client_stuck_on_a_dead_uplink_never_delays_another_clients_liveness(
        soketi, proxies, clients, auth) -> None:
    """Issue 16, item 9: the process's shared threads (timers, I/O) never wait on one
    client's socket, so another client whose path dies is detected on time."""
    stuck_proxy, other_proxy = proxies(), proxies()
    stuck, stuck_timeline, private, _ = _dead_uplink_client(soketi, stuck_proxy, clients, auth)
    other = clients(other_proxy)
    other_timeline = Timeline(other)
    _connected(other)
    stop = threading.Event()
    durations: list[float] = []
    errors: list[BaseException] = []
    stuck_proxy.set("up", "silent")
    sender = threading.Thread(target=_trigger_into_a_dead_uplink, name="test-sender",
                              args=(stuck, private, stop, durations, errors), daemon=True)
    sender.start()
    try:
        wait_for(lambda: stuck.connection_state != "connected" or errors, 5,
                 message="the stuck client's outbox full")
        other_proxy.set("both", "silent")
        silenced = time.monotonic()
        detected = wait_for(lambda: other_timeline.left_connected_after(silenced),
                            WINDOW + 2 * MARGIN,
                            message=lambda: f"the other client's death ({other_timeline.states()})")
        assert detected - silenced <= WINDOW + MARGIN
    finally:
        stop.set()
        sender.join(5)
    assert max(durations) < 0.5
    assert stuck_timeline.left_connected_after(0) is not None


def test_after_flaps_each_channel_is_subscribed_exactly_once_and_nothing_is_doubled(
        soketi, proxies, clients, auth) -> None:
    proxy = proxies()
    client = clients(proxy, auth_endpoint=auth.url)
    names = [_name("flap-a"), _name("flap-b"), _name("private-flap")]
    got: dict[str, list[Any]] = {name: [] for name in names}
    for name in names:
        client.channel(name).events("e").subscribe(got[name].append)
    for name in names:
        client.channel(name).wait_subscribed(timeout=10)
    for _ in range(3):
        before = len(proxy.accepted_at)
        assert proxy.flap() == 1
        wait_for(lambda: len(proxy.accepted_at) > before, 10, message="a reconnect")
        _connected(client)
        for name in names:
            client.channel(name).wait_subscribed(timeout=10)
    for name in names:
        wait_for(lambda: soketi.channel_info(name).get("subscription_count") == 1, 5,
                 message=lambda: f"{name} counted once ({soketi.channel_info(name)})")
    soketi.sdk.trigger(names, "e", "once")
    soketi.sdk.trigger(names, "e", "after")  # a second subscription's copy comes before it
    for name in names:
        wait_for(lambda: "after" in got[name], 5, message=f"the events on {name}")
    assert all(got[name] == ["once", "after"] for name in names), got
    assert proxy.connections == 1


def _library_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate()
                  if t.name.startswith("rxpusher") and t.is_alive())


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_threads_and_fds_return_to_baseline_after_faults(soketi, proxies, clients,
                                                          auth) -> None:
    proxy = proxies()
    threads_before, fds_before = _library_threads(), _fds()
    client, _, private, _ = _dead_uplink_client(soketi, proxy, clients, auth)
    others = [clients(proxy) for _ in range(3)]
    for other in others:
        _connected(other)
    proxy.set("up", "silent")  # the first fills its outbox: a writer thread works for it
    stop = threading.Event()
    durations: list[float] = []
    errors: list[BaseException] = []
    sender = threading.Thread(target=_trigger_into_a_dead_uplink, name="test-sender",
                              args=(client, private, stop, durations, errors), daemon=True)
    sender.start()
    wait_for(lambda: "rxpusher-writer" in _library_threads() or errors, 5,
             message="a writer thread")
    stop.set()
    sender.join(5)
    proxy.set("up", "pass")
    proxy.flap()
    for each in [client, *others]:
        _connected(each)
    for each in [client, *others]:
        each.close()
    proxy.flap()
    wait_for(lambda: _library_threads() == threads_before, 5,
             message=lambda: f"threads back to {threads_before} (now {_library_threads()})")
    wait_for(lambda: _fds() <= fds_before, 5,
             message=lambda: f"fds back to {fds_before} (now {_fds()})")


def test_the_reconnects_of_many_clients_are_spread_by_the_jitter(soketi, proxies,
                                                                  clients) -> None:
    proxy = proxies()
    many = [clients(proxy, reconnect=rxpusher.Backoff(initial=1.0, maximum=2.0))
            for _ in range(20)]
    for client in many:
        _connected(client)
    before = len(proxy.accepted_at)
    flapped = time.monotonic()
    assert proxy.flap() == 20
    wait_for(lambda: len(proxy.accepted_at) >= before + 20, 10, message="20 reconnects")
    for client in many:
        _connected(client)
    delays = [at - flapped for at in proxy.accepted_at[before:before + 20]]
    assert min(delays) >= 0.45  # the upper half of the first backoff step (1 s)
    assert max(delays) - min(delays) >= 0.15, delays  # not one burst: jitter spreads them
