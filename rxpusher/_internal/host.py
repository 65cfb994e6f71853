"""What channels and the user facade need from the client that owns them."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from reactivex import Observable

if TYPE_CHECKING:
    from ..auth import Authorizer
    from ..connection import Connection
    from ..router import Router


class ClientHost(Protocol):
    """The client's shared lock, router, connection and authorizer, and its reporting."""

    lock: threading.RLock
    router: Router
    connection: Connection
    authorizer: Authorizer

    def report(self, error: BaseException) -> None:
        """Put a problem on ``errors``."""

    def deliver_on(self, observable: Observable[Any]) -> Observable[Any]:
        """Move deliveries to the client's ``scheduler`` option, if any."""
