"""An auth endpoint for private and presence channels, with Flask and the official SDK.

Run the self-contained demo (no account needed: a local Pusher-compatible server is started,
the endpoint is served on a free port, and an rxpusher client uses it):

    python examples/auth_endpoint_flask.py

Serve the endpoint alone for your own clients (Ctrl-C to stop):

    python examples/auth_endpoint_flask.py --serve --http-port 5000 \\
        --key KEY --cluster eu --app-id ID --secret SECRET

Needs ``pip install flask pusher``. The secret stays on the server: the client sends
``socket_id`` and ``channel_name`` (a form POST) with its own credentials (here a bearer
token in a header, set with the ``auth={"headers": ...}`` option) and the endpoint answers
with the signature made by ``pusher_client.authenticate(...)``; for presence channels it adds
the user's ``channel_data``. A 403 becomes a ``SubscriptionError`` with ``status=403`` on
that channel's streams in the client, and only there. Exits 0 when the demo went as expected.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Self

import pusher as pusher_sdk
from _common import backend, parser
from flask import Flask, abort, jsonify, request
from reactivex import operators as ops
from werkzeug.serving import make_server

from rxpusher import Pusher, SubscriptionError

# Who is who: in a real app, your session or token validation.
TOKENS = {"alice-token": {"id": "alice", "name": "Alice", "admin": False},
          "root-token": {"id": "root", "name": "Root", "admin": True}}


def create_app(pusher_client: pusher_sdk.Pusher) -> Flask:
    """The Flask app: ``POST /pusher/auth`` (channels) and ``POST /pusher/user-auth`` (sign-in)."""
    app = Flask(__name__)

    def current_user() -> dict:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user = TOKENS.get(token)
        if user is None:
            abort(401)  # rxpusher reports it as SubscriptionError(status=401)
        return user

    @app.post("/pusher/auth")
    def channel_auth():
        user = current_user()
        channel, socket_id = request.form["channel_name"], request.form["socket_id"]
        if channel.startswith("private-admin-") and not user["admin"]:
            return jsonify(error=f"{user['id']} may not subscribe {channel}"), 403
        custom_data = None
        if channel.startswith("presence-"):
            custom_data = {"user_id": user["id"], "user_info": {"name": user["name"]}}
        return jsonify(pusher_client.authenticate(channel=channel, socket_id=socket_id,
                                                  custom_data=custom_data))

    @app.post("/pusher/user-auth")
    def user_auth():
        user = current_user()
        return jsonify(pusher_client.authenticate_user(
            request.form["socket_id"], {"id": user["id"], "name": user["name"]}))

    return app


class Endpoint:
    """The Flask app served by werkzeug in a background thread (port 0: a free one)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join()


def demo(server, endpoint_url: str, seconds: float) -> int:
    client = Pusher(server.key, **server.client_options,
                    auth_endpoint=f"{endpoint_url}/pusher/auth",
                    auth={"headers": {"Authorization": "Bearer alice-token"}})
    with client:
        orders = client.channel("private-orders")
        got = orders.events("order-created").pipe(ops.take(1), ops.timeout(seconds), ops.replay())
        got.connect()                                   # subscribes (authorized by Flask)
        room = client.channel("presence-room")
        me = room.members.pipe(ops.filter(lambda m: m.me is not None), ops.first(),
                               ops.timeout(seconds)).run()
        print("presence-room members:", dict(me), "me:", me.me)

        denied = client.channel("private-admin-metrics").events("cpu").pipe(
            ops.timeout(seconds), ops.materialize(), ops.first()).run()
        error = denied.exception
        print("private-admin-metrics:", type(error).__name__, getattr(error, "status", None))

        orders.state.pipe(ops.filter(lambda s: s == "subscribed"), ops.first(),
                          ops.timeout(seconds)).run()
        server.trigger("private-orders", "order-created", {"id": 7})
        print("private-orders:", got.run())
        ok = (me.me is not None and me.me.id == "alice"
              and isinstance(error, SubscriptionError) and error.status == 403)
        return 0 if ok else 1


def main() -> int:
    p = parser(__doc__.splitlines()[0], seconds=10.0)
    p.add_argument("--serve", action="store_true", help="only serve the endpoint, until Ctrl-C")
    p.add_argument("--http-port", type=int, default=0, help="port of the endpoint (0: free)")
    args = p.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines
    with backend(args) as server:
        if server.sdk_options is None:
            raise SystemExit("the endpoint signs with the official SDK: pass --app-id and --secret")
        app = create_app(server.sdk())
        with Endpoint(app, port=args.http_port) as endpoint:
            print("auth endpoint:", f"{endpoint.url}/pusher/auth")
            if args.serve:
                print(json.dumps({"key": server.key, **server.client_options}))
                threading.Event().wait()
            return demo(server, endpoint.url, args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
