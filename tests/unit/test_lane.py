"""The delivery lane: serial, in order, trampolined, with backpressure on the reader."""

from __future__ import annotations

import threading

from rxpusher._internal.lane import Lane


def test_items_posted_before_a_run_are_delivered_first() -> None:
    seen: list[str] = []
    lane = Lane(lambda e: None)
    lane.post(seen.append, "posted")
    lane.run(seen.append, "run")
    assert seen == ["posted", "run"]


def test_an_item_that_causes_more_sees_them_after_it_returns() -> None:
    seen: list[str] = []
    lane = Lane(lambda e: None)

    def first() -> None:
        lane.post(seen.append, "caused")
        lane.drain()  # inside the lane: nothing nests
        seen.append("first ends")

    lane.run(first)
    assert seen == ["first ends", "caused"]


def test_a_failing_item_is_reported_and_the_lane_goes_on() -> None:
    reported: list[BaseException] = []
    seen: list[int] = []
    lane = Lane(reported.append)
    lane.post(lambda: 1 / 0)
    lane.post(seen.append, 1)
    lane.drain()
    assert len(reported) == 1 and isinstance(reported[0], ZeroDivisionError)
    assert seen == [1]


def test_another_thread_posting_while_the_lane_delivers_returns_at_once() -> None:
    lane = Lane(lambda e: None)
    inside = threading.Event()
    release = threading.Event()
    seen: list[str] = []

    def slow() -> None:
        inside.set()
        release.wait(5)
        seen.append("slow")

    reader = threading.Thread(target=lane.run, args=(slow,))
    reader.start()
    assert inside.wait(5)
    lane.post(seen.append, "from user thread")
    lane.drain()  # returns at once: the reader will deliver it
    assert seen == []
    release.set()
    reader.join(5)
    assert seen == ["slow", "from user thread"]


def test_the_reader_waits_while_another_thread_delivers() -> None:
    lane = Lane(lambda e: None)
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def user_item() -> None:
        inside.set()
        release.wait(5)
        order.append("user")

    lane.post(user_item)
    user = threading.Thread(target=lane.drain)
    user.start()
    assert inside.wait(5)
    reader = threading.Thread(target=lane.run, args=(order.append, "frame"))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and order == []  # backpressure: the reader is held
    release.set()
    user.join(5)
    reader.join(5)
    assert order == ["user", "frame"]


def test_no_two_items_ever_run_at_once_under_a_storm() -> None:
    lane = Lane(lambda e: None)
    running = 0
    overlaps = 0
    count = 0
    guard = threading.Lock()

    def item() -> None:
        nonlocal running, overlaps, count
        with guard:
            running += 1
            overlaps += running > 1
        count += 1
        with guard:
            running -= 1

    def reader() -> None:
        for _ in range(2000):
            lane.run(item)

    def poster() -> None:
        for _ in range(2000):
            lane.post(item)
            lane.drain()

    threads = [threading.Thread(target=reader)] + [threading.Thread(target=poster) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lane.drain()
    assert lane.wait_idle(5)
    assert overlaps == 0
    assert count == 8000


def test_frames_read_together_keep_the_order_of_what_each_one_causes(pusher, server) -> None:
    import json

    from rxpusher.testing import record

    order: list[str] = []
    channel = pusher.channel("c")
    channel.state.subscribe(lambda s: order.append(f"state:{s}"))
    channel.events("e").subscribe(lambda d: order.append(f"event:{d}"))
    frames = [json.dumps({"event": "pusher_internal:subscription_succeeded", "channel": "c",
                          "data": "{}"})]
    frames += [json.dumps({"event": "e", "channel": "c", "data": str(i)}) for i in range(3)]
    server.current.receive_many(frames)
    assert order == ["state:unsubscribed", "state:pending", "state:subscribed",
                     "event:0", "event:1", "event:2"]
    everything = record(pusher.frames)
    server.current.receive_many(frames[1:])
    assert everything.items == frames[1:]


def test_enter_takes_a_free_turn_and_leave_runs_what_was_posted_meanwhile() -> None:
    seen: list[str] = []
    lane = Lane(lambda e: None)
    assert lane.enter() and lane.in_lane
    lane.post(seen.append, "posted while entered")
    lane.drain()                      # the turn is taken: nothing runs yet
    assert seen == []
    seen.append("the caller's own item")
    lane.leave()
    assert seen == ["the caller's own item", "posted while entered"] and not lane.in_lane
    assert lane.enter()  # the turn is free again
    lane.leave()


def test_enter_refuses_when_items_wait_or_another_thread_delivers() -> None:
    lane = Lane(lambda e: None)
    lane.post(lambda: None)
    assert not lane.enter()           # queued items go first: the caller must post
    lane.drain()
    inside, release = threading.Event(), threading.Event()

    def slow() -> None:
        inside.set()
        release.wait(5)

    worker = threading.Thread(target=lane.run, args=(slow,))
    worker.start()
    assert inside.wait(5)
    assert not lane.enter()           # never waits for the other thread
    release.set()
    worker.join(5)
    assert lane.enter()
    lane.leave()
