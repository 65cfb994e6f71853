"""Presence dashboard: who is online in a presence channel, as a live table.

Run it (no account needed: a local Pusher-compatible server is started, and a few
simulated users join and leave):

    python examples/presence_dashboard.py

Against a real app (the dashboard and the simulated users sign their subscriptions with
``--secret``; in production use an auth endpoint, see auth_endpoint_flask.py):

    python examples/presence_dashboard.py --key KEY --cluster eu --secret SECRET

``channel.members`` emits an immutable ``Members`` snapshot (user id -> info, ``.count``,
``.me``) on every change; ``member_added`` / ``member_removed`` emit each ``Member``.
The dashboard prints a line per change and the table at each milestone (a UI would
redraw it from ``members``, throttled). Exits 0 once every simulated user has come and gone.
"""

from __future__ import annotations

from _common import backend, parser
from reactivex import operators as ops

from rxpusher import Members, Pusher

CHANNEL = "presence-lobby"
USERS = [("u1", "Ada", "London"), ("u2", "Grace", "New York"), ("u3", "Linus", "Helsinki")]


def client(server, user_id: str, info: dict) -> Pusher:
    if server.secret is None:
        raise SystemExit("this example signs presence subscriptions itself: pass --secret")
    return Pusher(server.key, **server.client_options, secret=server.secret,
                  channel_data={"user_id": user_id, "user_info": info})


def table(members: Members) -> str:
    rows = [f"  {'id':<10} {'name':<8} {'city':<10}"]
    for user_id, info in sorted(members.items()):
        me = " (me)" if members.me and members.me.id == user_id else ""
        rows.append(f"  {user_id:<10} {info.get('name', ''):<8} {info.get('city', ''):<10}{me}")
    return f"{members.count} online\n" + "\n".join(rows)


def until(members, predicate, timeout: float) -> Members:
    """Block until a members snapshot satisfies ``predicate``; returns that snapshot."""
    return members.pipe(ops.filter(predicate), ops.first(), ops.timeout(timeout)).run()


def main() -> int:
    args = parser(__doc__.splitlines()[0], seconds=10.0).parse_args()
    with backend(args) as server, \
            client(server, "dashboard", {"name": "Dash", "city": "-"}) as dashboard:
        lobby = dashboard.channel(CHANNEL)
        lobby.member_added.subscribe(lambda m: print(f"+ {m.info['name']} joined"))
        lobby.member_removed.subscribe(lambda m: print(f"- {m.id} left"))
        lobby.members.pipe(ops.map(lambda m: m.count), ops.distinct_until_changed()).subscribe(
            lambda n: print(f"  [{n} online]"))

        print(table(until(lobby.members, lambda m: m.me is not None, args.seconds)))
        people = []
        for user_id, name, city in USERS:   # they join...
            person = client(server, user_id, {"name": name, "city": city})
            person.channel(CHANNEL).events().subscribe(lambda e: None)  # subscribes it
            people.append(person)
        print(table(until(lobby.members, lambda m: m.count == len(USERS) + 1, args.seconds)))
        for person in people:               # ...and leave
            person.close()
        print(table(until(lobby.members, lambda m: m.count == 1, args.seconds)))
        print("everyone came and went")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
