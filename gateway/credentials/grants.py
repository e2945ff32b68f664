"""Tokens from an OAuth2 token endpoint, through Authlib: client credentials and refresh token."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from gateway.credentials.token import AccessToken, token_from_answer
from gateway.errors import TokenError

Clock = Callable[[], float]


@dataclass(repr=False)
class EndpointGrant:
    """One token endpoint and the client the gateway is there. With `refresh_token` the
    refresh-token grant (delegated access), otherwise client credentials (app-only)."""

    setting: str  # "mailbox" or "smtp": errors name its keys
    token_url: str
    client_id: str
    client_secret: str | None = field(default=None)
    scope: str | None = None
    refresh_token: str | None = field(default=None)
    timeout: float = 30.0
    clock: Clock = time.monotonic

    def __repr__(self) -> str:
        return f"EndpointGrant({self.setting}, {self.token_url}, client_id={self.client_id})"

    @property
    def name(self) -> str:
        return "refresh token" if self.refresh_token else "client credentials"

    def __call__(self) -> AccessToken:
        session = OAuth2Session(
            self.client_id, self.client_secret, scope=self.scope,
            # In the form body: what Entra ID documents, and Google accepts; none for a
            # public client that holds only a refresh token.
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
        )
        try:
            with session:
                answer = self._ask(session)
            return token_from_answer(answer, self.clock())
        except OAuthError as exc:
            # The endpoint's own error code and text: invalid_client, invalid_grant, invalid_scope.
            detail = exc.error + (f" ({_first_line(exc.description)})" if exc.description else "")
            raise self._error(f"the token endpoint refused the {self.name}: {detail}",
                              self._key_for(exc.error)) from None
        except requests.RequestException as exc:
            raise self._error(f"cannot reach the token endpoint {self.token_url}: "
                              f"{_reason(exc)}") from None
        except ValueError as exc:  # not JSON, or JSON without a usable token
            raise self._error(f"the token endpoint's answer is not a usable token: {exc}") from None

    def _ask(self, session: OAuth2Session) -> dict:
        if self.refresh_token:
            answer = session.refresh_token(self.token_url, refresh_token=self.refresh_token,
                                           timeout=self.timeout)
            # Microsoft rotates refresh tokens: keep the newest for the next refresh.
            self.refresh_token = answer.get("refresh_token") or self.refresh_token
            return answer
        return session.fetch_token(self.token_url, grant_type="client_credentials",
                                   timeout=self.timeout)

    def _error(self, message: str, key: str = "token_url") -> TokenError:
        return TokenError(f"{self.setting}.{key}: {message}")

    def _key_for(self, error: str) -> str:
        """The setting an OAuth error code (RFC 6749 §5.2) points at."""
        if error == "invalid_grant" and self.refresh_token:
            return "refresh_token"
        if error == "invalid_client":
            return "client_secret" if self.client_secret else "client_id"
        return {"invalid_scope": "scope", "unauthorized_client": "client_id"}.get(
            error, "token_url")


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unknown"
    if exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:200] if lines else ""
