"""The action queue of the shell: actions run in the order they were queued, each thread
runs its own (and those before them), a nested step runs what it queued."""

from __future__ import annotations

import threading

from rxpusher._internal.actions import ActionQueue


def test_a_thread_runs_the_actions_queued_before_its_own_and_stops_there() -> None:
    queue = ActionQueue(lambda e: None)
    ran: list[str] = []
    queue.post(ran.append, "a")
    mine = queue.post(ran.append, "b")
    later = queue.post(ran.append, "c")  # another thread's, queued after
    queue.run_to(mine)
    assert ran == ["a", "b"]
    queue.run_to(later)
    assert ran == ["a", "b", "c"]
    queue.run_to(later)  # done already: nothing runs twice
    assert ran == ["a", "b", "c"]


def test_an_action_that_queues_more_runs_them_before_the_outer_run_returns() -> None:
    queue = ActionQueue(lambda e: None)
    ran: list[str] = []

    def nested(_: object) -> None:
        ran.append("outer")
        queue.run_to(queue.post(ran.append, "inner"))  # returns at once: queued behind
        ran.append("outer done")

    queue.run_to(queue.post(nested, None))
    assert ran == ["outer", "outer done", "inner"]


def test_a_failing_action_is_reported_and_the_queue_goes_on() -> None:
    reported: list[BaseException] = []
    queue = ActionQueue(reported.append)
    ran: list[int] = []
    queue.post(lambda _: 1 / 0, None)
    queue.run_to(queue.post(ran.append, 2))
    assert ran == [2] and isinstance(reported[0], ZeroDivisionError)


def test_a_busy_producer_cannot_make_one_thread_run_its_actions_for_ever() -> None:
    queue = ActionQueue(lambda e: None)
    lock = threading.Lock()  # stands for the session lock: queued in decision order
    release, entered = threading.Event(), threading.Event()
    order: list[int] = []

    def slow(_: object) -> None:
        entered.set()
        release.wait(5)

    with lock:
        first = queue.post(slow, None)
    runner = threading.Thread(target=queue.run_to, args=(first,))
    runner.start()
    entered.wait(5)
    stop = threading.Event()
    decided = [0]

    def producer() -> None:
        while not stop.is_set():
            with lock:
                decided[0] += 1
                seq = queue.post(order.append, decided[0])
            queue.run_to(seq)

    threads = [threading.Thread(target=producer) for _ in range(2)]
    for t in threads:
        t.start()
    release.set()
    runner.join(5)  # the first thread returns after its own action, not after theirs
    assert not runner.is_alive()
    stop.set()
    for t in threads:
        t.join(5)
    assert queue.wait_idle(5)
    assert order == list(range(1, decided[0] + 1))  # every action once, in decision order
