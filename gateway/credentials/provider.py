"""The in-memory token cache of one login: refreshed before expiry and after a refusal."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gateway.credentials.token import AccessToken

log = logging.getLogger(__name__)


class Grant(Protocol):
    """Gets a new token or raises TokenError naming the setting."""

    name: str

    def __call__(self) -> AccessToken: ...


class TokenProvider:
    """Hands out the cached token while it is fresh; asks the grant for a new one otherwise.

    Tokens live in memory only, and no log line ever holds one.
    """

    def __init__(self, setting: str, user: str, grant: Grant,
                 clock: Callable[[], float] = time.monotonic):
        self.setting = setting  # "mailbox" or "smtp"
        self.user = user
        self._grant = grant
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = threading.Lock()  # the sender's workers share one provider
        self.fetched = 0  # tokens obtained so far (health and tests read it)

    @property
    def source(self) -> str:
        return self._grant.name

    def token(self) -> str:
        return self.current().value

    def current(self) -> AccessToken:
        with self._lock:
            if self._token is None or not self._token.fresh(self._clock()):
                self._token = self._grant()
                self.fetched += 1
                log.info("%s: new access token by %s, valid %.0f s", self.setting,
                         self._grant.name, self._token.lifetime)
            return self._token

    def seconds_left(self) -> float:
        """How long the current token may still be used before it is due for refresh."""
        token = self.current()
        return max(0.0, token.refresh_at() - self._clock())

    def refused(self, token: str) -> None:
        """The server refused `token`: drop it, so the next call fetches a new one. Only
        the token refused is dropped: another thread may have fetched a newer one already."""
        with self._lock:
            if self._token is not None and self._token.value == token:
                log.info("%s: the server refused the access token; fetching a new one",
                         self.setting)
                self._token = None

    def secrets(self) -> tuple[str, ...]:
        """The current token (for scrubbing messages that might quote it)."""
        return (self._token.value,) if self._token is not None else ()
