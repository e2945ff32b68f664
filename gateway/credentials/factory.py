"""The token provider a [mailbox] or [smtp] section asks for, or None for a password login."""

from __future__ import annotations

from gateway.config_login import LoginSettings, TokenSource
from gateway.credentials.command import TokenCommand
from gateway.credentials.provider import Grant, TokenProvider


def token_provider(section: str, login: LoginSettings, user: str) -> TokenProvider | None:
    """Secrets are read here, once; a missing one is a ConfigError naming its key."""
    if not login.uses_token:
        return None
    return TokenProvider(section, user, _grant(section, login))


def _grant(section: str, login: LoginSettings) -> Grant:
    source = login.token_source
    if source is TokenSource.COMMAND:
        return TokenCommand(section, login.token_command or "", login.token_timeout)
    # The OAuth2 client library is a large import: only where a token endpoint is used.
    from gateway.credentials.grants import EndpointGrant

    secret = login.client_secret(section)
    refresh = login.refresh_token(section) if source is TokenSource.REFRESH_TOKEN else None
    return EndpointGrant(
        section, login.token_url or "", login.client_id or "",
        client_secret=secret.get_secret_value() if secret else None,
        scope=login.scope,
        refresh_token=refresh.get_secret_value() if refresh else None,
        timeout=login.token_timeout,
    )
