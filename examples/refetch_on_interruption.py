"""Refetch the application's state when the connection was interrupted.

Run it (no account needed: a local Pusher-compatible server and a small REST backend are
started in this process):

    python examples/refetch_on_interruption.py

Pusher keeps no history: events published while a connection is down are gone. An
application that keeps state from events (here an order book fed by ``order-created``)
therefore loads it from its backend's REST endpoint at the start, and again each time
``channel.interruptions`` says the channel came back after a connection loss. The example
plays it through: two orders loaded over HTTP, one arriving live, an outage (the server
drops the connection and refuses new ones for a moment) during which two orders are placed
and their events lost, the interruption notice, the refetch that recovers them, and one
more order live. Exits 0 once the book holds all six orders (1 on a timeout).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.request import urlopen

import reactivex
from reactivex import operators as ops
from reactivex.scheduler import ThreadPoolScheduler

import rxpusher
from rxpusher import Backoff, Interruption
from rxpusher.server import LocalServer

Book = dict[int, dict[str, Any]]


class Backend:
    """The application's server: the orders (the truth), a REST endpoint ``GET /orders``,
    and an ``order-created`` event on channel ``orders`` for every new order."""

    def __init__(self, pusher_server: LocalServer) -> None:
        self._pusher = pusher_server
        self._orders: Book = {}
        self._lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
                with backend._lock:
                    body = json.dumps(list(backend._orders.values())).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}/orders"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def place(self, order_id: int, item: str) -> None:
        order = {"id": order_id, "item": item}
        with self._lock:
            self._orders[order_id] = order
        self._pusher.trigger("orders", "order-created", order)

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def fetch_orders(url: str) -> Book:
    """The whole book from the REST endpoint (blocking: never on the connection's thread)."""
    with urlopen(url, timeout=5) as answer:
        return {order["id"]: order for order in json.load(answer)}


def order_book(channel: rxpusher.Channel, url: str,
               on_refetch: Callable[[Interruption | None, Book], None]) -> reactivex.Observable[Book]:
    """The book, emitted after each change: loaded over HTTP at the start and after every
    interruption, updated by each ``order-created`` event in between. A snapshot is merged
    by order id, so an event that overtook a slow refetch is not lost."""
    http = ThreadPoolScheduler(2)   # requests run here, not on the connection's reader thread

    def refetch(notice: Interruption | None) -> reactivex.Observable[Book]:
        return reactivex.from_callable(lambda: fetch_orders(url), scheduler=http).pipe(
            ops.do_action(lambda book: on_refetch(notice, book)))

    snapshots = channel.interruptions.pipe(
        ops.start_with(None),                # the first load
        ops.map(refetch),
        ops.switch_latest(),                 # a newer refetch supersedes an older one
    )
    created = channel.events("order-created")
    changes = reactivex.merge(
        snapshots.pipe(ops.map(lambda snapshot: lambda book: {**book, **snapshot})),
        created.pipe(ops.map(lambda order: lambda book: {**book, order["id"]: order})),
    )
    return changes.pipe(ops.scan(lambda book, change: change(book), {}))


def main() -> int:
    with LocalServer() as server:
        backend = Backend(server)
        backend.place(1, "keyboard")
        backend.place(2, "mouse")
        client = rxpusher.Pusher(server.key, reconnect=Backoff(initial=0.2, maximum=0.5),
                                 **server.client_options())
        channel = client.channel("orders")
        latest: list[Book] = [{}]
        loaded, recovered, complete = threading.Event(), threading.Event(), threading.Event()

        def refetched(notice: Interruption | None, book: Book) -> None:
            if notice is None:
                print(f"loaded {len(book)} orders over HTTP")
                loaded.set()
            else:
                down = (notice.resubscribed_at - notice.lost_at).total_seconds()
                print(f"interruption: lost at {notice.lost_at:%H:%M:%S}, back after "
                      f"{down:.1f} s; refetched {len(book)} orders")
                recovered.set()

        def show(book: Book) -> None:
            latest[0] = book
            if sorted(book) == [1, 2, 3, 4, 5, 6]:
                complete.set()

        live = channel.events("order-created").subscribe(
            lambda order: print(f"live event: order {order['id']} ({order['item']})"))
        keep = order_book(channel, backend.url, refetched).subscribe(show)
        try:
            channel.wait_subscribed(timeout=10)
            if not loaded.wait(10):
                return 1
            backend.place(3, "monitor")                      # arrives live

            lost = threading.Event()                         # the loss of the connection
            watch = client.state.pipe(ops.filter(lambda s: s != "connected")).subscribe(
                lambda _: lost.set())
            server.refuse_connections(1.0)                   # the outage: no reconnect for 1 s
            server.close_connections(4200)
            if not lost.wait(10):
                print("the connection was not lost")
                return 1
            watch.dispose()
            backend.place(4, "laptop")                       # published while we are away:
            backend.place(5, "dock")                         # these events are lost
            if not recovered.wait(10):                       # back, and refetched
                print("no interruption notice")
                return 1
            backend.place(6, "chair")                        # live again
            if not complete.wait(10):
                print("incomplete book:", sorted(latest[0]))
                return 1
            print("book:", ", ".join(f"{i} {o['item']}" for i, o in sorted(latest[0].items())))
            print("all 6 orders present, 2 of them recovered by the refetch")
            return 0
        finally:
            live.dispose()
            keep.dispose()
            client.close()
            backend.stop()


if __name__ == "__main__":
    raise SystemExit(main())
