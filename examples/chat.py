"""Chat with client events: two users talk on a presence channel, no server code involved.

Run it (no account needed: a local Pusher-compatible server is started):

    python examples/chat.py

Against a real app (enable client events in the app settings). Clients sign their own
subscriptions with ``--secret`` here to stay self-contained; a real client must never hold
the secret: use an auth endpoint instead (see auth_endpoint_flask.py).

    python examples/chat.py --key KEY --cluster eu --secret SECRET

Alice and Bob join ``presence-chat``. Client events (``client-*``) go from one client to
the other subscribers directly; the sender does not receive its own. Each message carries
the sender's ``user_id`` (presence channels), so Bob replies to every line of Alice's,
and Alice sends her next line when Bob's reply arrives: the conversation is driven by
the streams, not by sleeps. Exits 0 when it is over (1 on a timeout after ``--seconds``).
"""

from __future__ import annotations

import threading

from _common import backend, parser
from reactivex import operators as ops

from rxpusher import Pusher

CHANNEL = "presence-chat"
ALICE_LINES = ["Hi Bob!", "Seen the BTC chart today?", "Same here. Bye!"]
REPLIES = {
    "Hi Bob!": "Hi Alice :)",
    "Seen the BTC chart today?": "Yes, it moves too much for me.",
    "Same here. Bye!": "Bye!",
}


def connect(server, user_id: str, name: str) -> Pusher:
    if server.secret is None:
        raise SystemExit("this example signs presence subscriptions itself: pass --secret")
    return Pusher(server.key, **server.client_options, secret=server.secret,
                  channel_data={"user_id": user_id, "user_info": {"name": name}})


def wait_subscribed(pusher: Pusher, channel: str, timeout: float = 10.0) -> None:
    """Block until ``channel`` is subscribed (a Rx way to await a condition)."""
    pusher.channel(channel).state.pipe(
        ops.filter(lambda s: s == "subscribed"), ops.first(), ops.timeout(timeout)
    ).run()


def main() -> int:
    args = parser(__doc__.splitlines()[0], seconds=10.0).parse_args()
    with backend(args) as server, \
            connect(server, "alice", "Alice") as alice, connect(server, "bob", "Bob") as bob:
        alice_room, bob_room = alice.channel(CHANNEL), bob.channel(CHANNEL)
        finished = threading.Event()
        lines = iter(ALICE_LINES)

        def say(room, text: str) -> None:
            room.trigger("client-message", {"text": text})

        def alice_hears(event) -> None:
            print(f"  alice <- {event.user_id}: {event.data['text']}")
            nxt = next(lines, None)
            if nxt is None:
                finished.set()
            else:
                print(f"alice -> {nxt}")
                say(alice_room, nxt)

        def bob_hears(event) -> None:
            print(f"  bob   <- {event.user_id}: {event.data['text']}")
            reply = REPLIES[event.data["text"]]
            print(f"bob   -> {reply}")
            say(bob_room, reply)

        # Event records (not just data) so that user_id, the sender, is available.
        def messages(room):
            return room.events().pipe(ops.filter(lambda e: e.name == "client-message"))

        messages(alice_room).subscribe(alice_hears, on_error=print)
        messages(bob_room).subscribe(bob_hears, on_error=print)
        # "Who is here": the members stream of Bob's handle.
        bob_room.members.pipe(ops.map(lambda m: sorted(m))).subscribe(
            lambda ids: print(f"[members] {', '.join(ids)}"))
        wait_subscribed(alice, CHANNEL)
        wait_subscribed(bob, CHANNEL)
        # Bob's member list must include Alice before she speaks to him.
        bob_room.members.pipe(ops.filter(lambda m: "alice" in m), ops.first(),
                              ops.timeout(10.0)).run()

        first_line = next(lines)
        print(f"alice -> {first_line}")
        say(alice_room, first_line)
        if not finished.wait(args.seconds):
            print("timed out")
            return 1
        print("conversation over")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
