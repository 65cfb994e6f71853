"""Sign-in errors as in pusher-js 8.6 (``pusher:signin_error``) and ``user.wait_signed_in``."""

from __future__ import annotations

import json
import threading

import pytest

import rxpusher

from .support import record, wait_for


def test_an_endpoint_refusal_is_a_signin_error_event_an_error_and_raised_by_the_wait(
        make_pusher, server, auth_endpoint) -> None:
    auth_endpoint.reply(403, {"error": "not you"})
    pusher = make_pusher(user_auth_endpoint=auth_endpoint.url)
    signin_errors = record(pusher.user.events("pusher:signin_error"))
    every = record(pusher.user.events())
    errors = record(pusher.errors)
    pusher.signin()
    server.handshake()
    with pytest.raises(rxpusher.AuthenticationError) as raised:
        pusher.user.wait_signed_in(5)
    assert raised.value.status == 403
    wait_for(lambda: signin_errors.items)
    [event] = signin_errors.items
    assert event["type"] == "AuthError" and event["status"] == 403
    assert event["error"] == raised.value.message
    assert [e.name for e in every.items] == ["pusher:signin_error"]
    assert [e.status for e in errors.items if isinstance(e, rxpusher.AuthenticationError)] == [403]
    assert not pusher.user.signed_in


def test_a_failing_user_authorizer_is_a_signin_error_with_status_none(make_pusher, server) -> None:
    def broken(socket_id: str) -> dict:
        raise RuntimeError("vault closed")

    pusher = make_pusher(user_authorizer=broken)
    signin_errors = record(pusher.user.events("pusher:signin_error"))
    pusher.signin()
    server.handshake()
    with pytest.raises(rxpusher.AuthenticationError):
        pusher.user.wait_signed_in(5)
    wait_for(lambda: signin_errors.items)
    assert signin_errors.items[0]["type"] == "AuthError"
    assert "vault closed" in signin_errors.items[0]["error"]


def test_a_server_that_answers_the_signin_with_pusher_error_fails_it_without_waiting(
        make_pusher, server) -> None:
    """Laravel Reverb (and servers without sign-in) answer ``pusher:signin`` with
    ``pusher:error`` 4200 "Invalid message format": the sign-in failed, nothing waits."""
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    signin_errors = record(pusher.user.events("pusher:signin_error"))
    pusher.signin()
    server.handshake()
    assert server.sent("pusher:signin")
    server.push("pusher:error", {"code": 4200, "message": "Invalid message format"})
    with pytest.raises(rxpusher.AuthenticationError) as raised:
        pusher.user.wait_signed_in(0)
    assert raised.value.status is None and "Invalid message format" in raised.value.message
    assert signin_errors.items == [
        {"type": "AuthError", "error": raised.value.message, "status": None}]
    assert pusher.connection_state == "connected"


def test_a_pusher_error_with_no_signin_under_way_is_no_signin_error(make_pusher, server) -> None:
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    signin_errors = record(pusher.user.events("pusher:signin_error"))
    pusher.signin()
    server.handshake()
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    server.push("pusher:error", {"code": 4301, "message": "client event rejected"})
    assert signin_errors.items == []
    pusher.user.wait_signed_in(0)


def test_wait_signed_in_returns_once_accepted_and_is_woken_by_the_acceptance(
        make_pusher, server) -> None:
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    pusher.signin()
    server.handshake()
    done = threading.Event()

    def wait() -> None:
        pusher.user.wait_signed_in(5)
        done.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert not done.wait(0.05)
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    waiter.join(5)
    assert done.is_set()


def test_a_new_signin_after_a_failure_can_succeed(make_pusher, server, sched) -> None:
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    pusher.signin()
    server.handshake()
    server.push("pusher:error", {"code": 4009, "message": "Connection not authorized."})
    with pytest.raises(rxpusher.AuthenticationError):
        pusher.user.wait_signed_in(0)
    server.current.drop(1006)
    sched.advance_by(1.1)
    server.handshake(socket_id="2.2")  # signs in again on the new connection
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    pusher.user.wait_signed_in(0)
    assert pusher.user.id == "7"


def test_wait_signed_in_times_out_and_raises_closed_after_close(make_pusher, server) -> None:
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    pusher.signin()
    server.handshake()
    with pytest.raises(TimeoutError):
        pusher.user.wait_signed_in(0.01)
    closer = threading.Timer(0.05, pusher.close)
    closer.start()
    with pytest.raises(rxpusher.ClosedError):
        pusher.user.wait_signed_in(5)
    closer.join()
    with pytest.raises(rxpusher.ClosedError):
        pusher.user.wait_signed_in(0)


def test_a_client_event_rejection_while_signing_in_is_no_signin_error(make_pusher, server) -> None:
    pusher = make_pusher(secret="s", user_data={"id": "7"})
    signin_errors = record(pusher.user.events("pusher:signin_error"))
    pusher.signin()
    server.handshake()
    server.push("pusher:error", {"code": 4301, "message": "client event rejected"})
    server.push("pusher:signin_success", {"user_data": json.dumps({"id": "7"})})
    pusher.user.wait_signed_in(0)
    assert signin_errors.items == []
