"""Batch authorization (``auth_batch=True``): one request for the channels that need auth together."""

from __future__ import annotations

import rxpusher

from .support import SOCKET_ID, record, wait_for

CHANNELS = [f"private-c{i}" for i in range(100)] + ["presence-room"]


def batch_body(request: dict) -> dict:
    names = [v for k, v in sorted(request["form"].items()) if k.startswith("channel_name[")]
    body = {}
    for name in names:
        entry = {"auth": f"key:{name}"}
        if name.startswith("presence-"):
            entry["channel_data"] = '{"user_id":"u1"}'
        body[name] = entry
    return body


def test_a_hundred_channel_reconnect_makes_exactly_one_auth_request(make_pusher, server, sched, auth_endpoint) -> None:
    auth_endpoint.reply(200, batch_body)
    pusher = make_pusher(auth_endpoint=auth_endpoint.url, auth_batch=True)
    for name in CHANNELS:
        pusher.subscribe(name)
    server.handshake(socket_id=SOCKET_ID)
    wait_for(lambda: len(server.sent("pusher:subscribe")) == len(CHANNELS))
    assert len(auth_endpoint.requests) == 1
    form = auth_endpoint.requests[0]["form"]
    assert form["socket_id"] == SOCKET_ID
    assert {form[f"channel_name[{i}]"] for i in range(len(CHANNELS))} == set(CHANNELS)

    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    wait_for(lambda: len(server.sent("pusher:subscribe")) == 2 * len(CHANNELS))
    assert len(auth_endpoint.requests) == 2
    assert auth_endpoint.requests[1]["form"]["socket_id"] == "2.2"
    sent = {f["data"]["channel"]: f["data"] for f in server.current.sent if f["event"] == "pusher:subscribe"}
    assert sent["private-c5"]["auth"] == "key:private-c5"
    assert sent["presence-room"]["channel_data"] == '{"user_id":"u1"}'


def test_per_channel_failures_in_a_batch_fail_only_those_channels(make_pusher, server) -> None:
    def batch_authorizer(socket_id: str, names: list[str]) -> dict:
        return {"private-ok": {"auth": "key:ok"}, "private-denied": {"status": 403, "error": "no"}}

    pusher = make_pusher(batch_authorizer=batch_authorizer, auth_batch=True)
    ok = record(pusher.channel("private-ok").events("e"))
    denied = record(pusher.channel("private-denied").events("e"))
    missing = record(pusher.channel("private-missing").events("e"))
    server.handshake()
    wait_for(lambda: denied.errors and missing.errors and server.sent("pusher:subscribe"))
    assert denied.error.status == 403 and denied.error.channel == "private-denied"
    assert isinstance(missing.error, rxpusher.SubscriptionError)
    assert not ok.terminated
    assert [f["data"]["channel"] for f in server.sent("pusher:subscribe")] == ["private-ok"]


def test_batch_endpoint_failure_fails_every_channel_of_the_batch(make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(500, "down")
    pusher = make_pusher(auth_endpoint=auth_endpoint.url, auth_batch=True)
    streams = [record(pusher.channel(f"private-{i}").events("e")) for i in range(3)]
    public = record(pusher.channel("public").events("e"))
    server.handshake()
    wait_for(lambda: all(s.errors for s in streams))
    assert {s.error.status for s in streams} == {500}
    assert not public.terminated


def test_rotating_params_and_headers_are_evaluated_on_every_request(make_pusher, server, sched, auth_endpoint) -> None:
    tokens, numbers = iter(["t1", "t2", "t3"]), iter(["n1", "n2", "n3"])
    pusher = make_pusher(
        auth_endpoint=auth_endpoint.url,
        auth={"headers": lambda: {"X-Token": next(tokens)}, "params": lambda: {"n": next(numbers)}},
    )
    pusher.subscribe("private-a")
    server.handshake()
    wait_for(lambda: len(auth_endpoint.requests) == 1)
    server.current.drop(1006)
    sched.advance_by(1)
    server.handshake(socket_id="2.2")
    wait_for(lambda: len(auth_endpoint.requests) == 2)
    assert [r["headers"]["x-token"] for r in auth_endpoint.requests] == ["t1", "t2"]
    assert [r["form"]["n"] for r in auth_endpoint.requests] == ["n1", "n2"]
