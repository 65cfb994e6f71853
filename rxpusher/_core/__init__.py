"""The client's logic as a pure core: inputs in, effects out (no threads, sockets or clocks).

Nothing in this package imports ``threading``, ``socket``, ``select``, ``ssl``, ``time``,
``requests`` or a websocket library. The shell (:mod:`rxpusher._session`) owns the lock,
the transports, the timers, the worker pool and the delivery lane; it calls one input of
:class:`Core` at a time, with the session lock held, then executes the effects it returns
after releasing the lock. The model is python-websockets' ``protocol.py`` and h11: the
protocol is a state machine that takes events and says what to do.

The modules, one concern each:

- :mod:`.core`: :class:`Core`, the inputs (user calls, transport reports, timers,
  authorization outcomes) and the lock-free routing of plain events (:meth:`Core.route`);
- :mod:`.effects`: what an input can ask for (frames to send, notifications, timers,
  authorizations, transports to open or close);
- :mod:`.handlers`: the protocol handler table, ``{event name: handler}``;
- :mod:`.connection`: the connection state machine (one table of legal transitions),
  liveness, the close-code policy and the backoff, attempt reporting;
- :mod:`.channels`: subscriptions, reference counts, pins, authorizations in flight,
  failures, presence rosters (:class:`rxpusher._presence.Roster`);
- :mod:`.keys`: encrypted channels, their keys and key rotation;
- :mod:`.user`: the signed-in user;
- :mod:`.streams`: who observes what (routes, session-wide streams, bindings).

Tests of this package (``tests/unit/test_core_*.py``) feed inputs and compare the effects,
without a thread.
"""

from .core import CHUNKED, DECIDED_PREFIXES, DROP, INTERNAL_PREFIX, STEP, Core, is_plain
from .effects import Timer
from .handlers import HANDLERS

__all__ = ["CHUNKED", "DECIDED_PREFIXES", "DROP", "HANDLERS", "INTERNAL_PREFIX", "STEP", "Core", "Timer",
           "is_plain"]
