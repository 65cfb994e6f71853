"""End-to-end encrypted channel: the server only ever relays ciphertext.

Run it (no account needed: a local Pusher-compatible server is started; needs PyNaCl,
``pip install rxpusher[encryption]``, and the official SDK to encrypt, ``pip install pusher``):

    python examples/encrypted_channel.py

Against a real app (the master key must be the one your server SDK encrypts with):

    python examples/encrypted_channel.py --key KEY --cluster eu --app-id ID --secret SECRET \\
        --master-key BASE64_32_BYTES

The publisher (the official ``pusher`` SDK with ``encryption_master_key_base64``) encrypts
every event for ``private-encrypted-orders`` with a key derived from the channel name and
the master key. The client derives the same key (here locally from ``secret`` and
``encryption_master_key``; with an auth endpoint it arrives as ``shared_secret``) and
``channel.events(...)`` emits the decrypted data, while ``pusher.frames`` shows what went
over the wire. Exits 0 when every order was decrypted.
"""

from __future__ import annotations

import base64
import json
import os

from _common import backend, parser
from reactivex import operators as ops

from rxpusher import Pusher

CHANNEL = "private-encrypted-orders"
ORDERS = [{"id": 1, "card": "4242 4242 4242 4242"}, {"id": 2, "card": "5555 5555 5555 4444"}]


def main() -> int:
    p = parser(__doc__.splitlines()[0], seconds=10.0)
    p.add_argument("--master-key", default=base64.b64encode(os.urandom(32)).decode(),
                   help="base64 of 32 random bytes (default: a fresh one)")
    args = p.parse_args()
    with backend(args) as server:
        if server.secret is None:
            raise SystemExit("pass --secret (and --app-id to publish)")
        with Pusher(server.key, **server.client_options, secret=server.secret,
                    encryption_master_key=args.master_key) as pusher:
            # What the wire carries: nonce + ciphertext, no card number.
            pusher.frames.pipe(ops.filter(lambda f: '"order"' in f)).subscribe(
                lambda f: print("wire:", json.loads(f)["data"][:70], "..."))
            pusher.errors.subscribe(lambda e: print("error:", e))
            orders = pusher.channel(CHANNEL).events("order")
            received = orders.pipe(ops.take(len(ORDERS)), ops.to_list(),
                                   ops.timeout(args.seconds))
            # Start collecting (this subscribes the channel), then publish once subscribed.
            result = received.pipe(ops.replay())
            result.connect()
            pusher.channel(CHANNEL).state.pipe(
                ops.filter(lambda s: s == "subscribed"), ops.first(), ops.timeout(10.0)).run()
            sdk = server.sdk(encryption_master_key_base64=args.master_key)
            for order in ORDERS:
                sdk.trigger(CHANNEL, "order", order)
            decrypted = result.run()
            for order in decrypted:
                print("decrypted:", order)
            return 0 if decrypted == ORDERS else 1


if __name__ == "__main__":
    raise SystemExit(main())
