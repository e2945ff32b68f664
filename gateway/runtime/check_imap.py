"""The IMAP steps of `gateway check`: connect with TLS, log in, find the folders."""

from __future__ import annotations

from collections.abc import Callable

from imapclient import IMAPClient

from gateway.config import Settings
from gateway.credentials.provider import TokenProvider
from gateway.sources.imap_login import connect, log_in
from gateway.sources.imap_protocol import CONNECTION_ERRORS, describe, shutdown_quietly


class ImapProbe:
    """One connection walked through the steps; each step raises with the server's words."""

    def __init__(self, settings: Settings, tokens: Callable[[], TokenProvider | None]):
        from gateway.sources.factory import imap_settings

        self._settings = settings
        self._tokens = tokens
        self._imap = lambda: imap_settings(settings, settings.health.timeout)
        self._client: IMAPClient | None = None

    def connect(self) -> str:
        s = self._imap()
        try:
            self._client = connect(s)
        except CONNECTION_ERRORS as exc:
            raise ConnectionError(f"{s.host}:{s.port} ({s.tls}): {describe(exc)}") from None
        if s.tls == "none":
            return f"{s.host}:{s.port} without TLS (tls = none)"
        version = getattr(self._client.socket(), "version", lambda: None)() or "TLS"
        return f"{s.host}:{s.port} {s.tls}, {version}, certificate verified"

    def log_in(self) -> str:
        s = self._imap()
        try:
            log_in(self._client, s, self._tokens())
        except CONNECTION_ERRORS as exc:
            raise PermissionError(f"{s.user}: {describe(exc)}") from None
        how = "XOAUTH2" if self._tokens() is not None else "password"
        return f"{s.user} by {how}"

    def folders(self) -> str:
        """The last step: the connection is closed after it."""
        try:
            return self._folders(self._client)
        finally:
            self.close()

    def _folders(self, client: IMAPClient) -> str:
        box = self._settings.mailbox
        if not client.folder_exists(box.folder):
            raise LookupError(f"folder {box.folder!r} ([mailbox] folder) does not exist")
        made = [f for f in (box.processed_folder, box.quarantine_folder)
                if f and not client.folder_exists(f)]
        found = [f for f in (box.folder, box.processed_folder, box.quarantine_folder)
                 if f and f not in made]
        text = ", ".join(found) + " exist"
        return text + (f"; {', '.join(made)} will be created on first run" if made else "")

    def close(self) -> str:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except CONNECTION_ERRORS:
                shutdown_quietly(client)
        return "done"

    def closing_on_failure(self, step: Callable[[], str]) -> Callable[[], str]:
        def run() -> str:
            try:
                return step()
            except BaseException:
                self.close()
                raise
        return run
