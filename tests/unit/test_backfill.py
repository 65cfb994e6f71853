"""``rxpusher._backfill``: the HTTP backfill of ``--backfill-url`` (a real local HTTP server
and ``requests``) and the seq of ``--seq FIELD``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from rxpusher._backfill import BackfillAnswerError, http_backfill, seq_field


class Endpoint:
    """Answers every GET with ``status`` and ``body`` (bytes), recording each query."""

    def __init__(self) -> None:
        endpoint = self
        self.status = 200
        self.body = b"[]"
        self.queries: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                endpoint.queries.append(dict(parse_qsl(urlsplit(self.path).query)))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", str(len(endpoint.body)))
                self.end_headers()
                self.wfile.write(endpoint.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/missed"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,),
                                       name="test-backfill", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def test_the_four_parameters_are_sent_and_the_json_list_returned(endpoint) -> None:
    endpoint.body = json.dumps([{"seq": 4}, {"seq": 5}]).encode()
    fetch = http_backfill(endpoint.url)
    assert fetch("AAPL", "new-price", 3, 6) == [{"seq": 4}, {"seq": 5}]
    assert fetch("AAPL", "new-price", 3, None) == [{"seq": 4}, {"seq": 5}]
    assert endpoint.queries == [
        {"channel": "AAPL", "event": "new-price", "after": "3", "before": "6"},
        {"channel": "AAPL", "event": "new-price", "after": "3"},   # up to now: no before
    ]


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, b"boom\nmore", "HTTP 500: boom"),
    (200, b'{"seq": 1}', "a JSON dict, not a list"),
    (200, b"not json", "not JSON"),
    (200, b"[" * 100_000, "not JSON"),                  # nesting: bounded, not a crash
])
def test_any_other_answer_raises_a_clear_error(endpoint, status, body, message) -> None:
    endpoint.status, endpoint.body = status, body
    with pytest.raises(BackfillAnswerError, match=message):
        http_backfill(endpoint.url)("c", "e", 0, None)


def test_an_answer_over_the_size_bound_is_refused(endpoint) -> None:
    endpoint.body = json.dumps([{"seq": i} for i in range(10_000)]).encode()
    with pytest.raises(BackfillAnswerError, match="larger than 1000 bytes"):
        http_backfill(endpoint.url, max_bytes=1000)("c", "e", 0, None)


def test_the_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        http_backfill("ftp://example.invalid/x")


def test_seq_field_reads_the_field_of_an_object_and_says_what_is_wrong() -> None:
    seq = seq_field("n")
    assert seq({"n": 7}) == 7
    with pytest.raises(KeyError, match="no 'n'"):
        seq({"m": 7})
    with pytest.raises(TypeError, match="a list, not an object"):
        seq([7])
    with pytest.raises(ValueError):
        seq_field("")


def test_a_channel_wide_sequence_leaves_the_event_parameter_out(endpoint) -> None:
    endpoint.body = json.dumps([{"seq": 4, "event": "trade"}]).encode()
    fetch = http_backfill(endpoint.url)
    assert fetch("AAPL", None, 3, 6) == [{"seq": 4, "event": "trade"}]
    assert fetch("AAPL", None, 3, None) == [{"seq": 4, "event": "trade"}]
    assert endpoint.queries == [{"channel": "AAPL", "after": "3", "before": "6"},
                                {"channel": "AAPL", "after": "3"}]
