"""The token caches `health` and `check` share between their steps, and the token step."""

from __future__ import annotations

from collections.abc import Callable

from gateway.config import Settings
from gateway.credentials.factory import token_provider
from gateway.credentials.provider import TokenProvider


class LoginTokens:
    """One TokenProvider per XOAUTH2 login, built on first use (None for a password login)."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._built: dict[str, TokenProvider | None] = {}

    def mailbox(self) -> TokenProvider | None:
        box = self._settings.mailbox
        return self._get("mailbox", lambda: token_provider("mailbox", box, box.user or ""))

    def smtp(self) -> TokenProvider | None:
        smtp = self._settings.smtp
        return self._get("smtp", lambda: token_provider("smtp", smtp, smtp.user or ""))

    def _get(self, name: str, build: Callable[[], TokenProvider | None]) -> TokenProvider | None:
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]


def describe_token(tokens: TokenProvider | None) -> str:
    """Fetch (or reuse) the token and say where it came from; never the token itself."""
    if tokens is None:
        return "password login"
    token = tokens.current()
    return f"access token by {tokens.source}, valid {token.lifetime:.0f} s"


def token_checks(settings: Settings, tokens: LoginTokens
                 ) -> list[tuple[str, Callable[[], str]]]:
    """A "<login> token" step for each login by XOAUTH2, so a refused refresh shows apart
    from a refused login."""
    checks: list[tuple[str, Callable[[], str]]] = []
    if settings.mailbox.kind == "imap" and settings.mailbox.uses_token:
        checks.append(("mailbox token", lambda: describe_token(tokens.mailbox())))
    if settings.smtp.uses_token:
        checks.append(("smtp token", lambda: describe_token(tokens.smtp())))
    return checks
