"""The login part of [mailbox] and [smtp]: password or XOAUTH2, and where the token comes from."""

from __future__ import annotations

import os
import shlex
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.errors import ConfigError


class TokenSource(StrEnum):
    CLIENT_CREDENTIALS = "client credentials"  # app-only, as Entra ID issues for Exchange Online
    REFRESH_TOKEN = "refresh token"  # delegated access, as Google and Microsoft issue it
    COMMAND = "token_command"  # the site's own tooling prints a token


class LoginSettings(BaseModel):
    """Keys shared by [mailbox] and [smtp]; secrets come from the environment or a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth: Literal["password", "xoauth2"] = "password"
    token_url: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    scope: str | None = None  # space-separated, e.g. "https://outlook.office365.com/.default"
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    token_command: str | None = None  # prints an access token (or a JSON token answer)
    token_timeout: float = Field(default=30.0, gt=0)  # seconds for the endpoint or the command

    @model_validator(mode="after")
    def _token_source_complete(self) -> LoginSettings:
        if self.auth != "xoauth2":
            return self
        if not getattr(self, "user", None):  # the key lives beside these, in [mailbox]/[smtp]
            raise ValueError("user is required for auth = 'xoauth2': the XOAUTH2 login names it")
        source = self.token_source
        if source is None:
            raise ValueError("auth = 'xoauth2' needs a token source: client_secret_env or "
                             "client_secret_file (client credentials), refresh_token_env or "
                             "refresh_token_file, or token_command")
        if source is TokenSource.COMMAND:
            if not shlex.split(self.token_command or ""):
                raise ValueError("token_command is empty")
            return self
        for key in ("token_url", "client_id"):
            if not getattr(self, key):
                raise ValueError(f"{key} is required for auth = 'xoauth2' with a {source}")
        if not self.token_url.startswith(("https://", "http://")):
            raise ValueError(f"token_url must be an http(s) URL (got {self.token_url!r})")
        if source is TokenSource.CLIENT_CREDENTIALS and not self.scope:
            raise ValueError("scope is required for the client-credentials flow, e.g. "
                             "'https://outlook.office365.com/.default'")
        return self

    @property
    def token_source(self) -> TokenSource | None:
        if self.token_command:
            return TokenSource.COMMAND
        if self.refresh_token_env or self.refresh_token_file:
            return TokenSource.REFRESH_TOKEN
        if self.client_secret_env or self.client_secret_file:
            return TokenSource.CLIENT_CREDENTIALS
        return None

    @property
    def uses_token(self) -> bool:
        return self.auth == "xoauth2"

    def client_secret(self, section: str) -> SecretStr | None:
        return read_secret(section, "client_secret", self.client_secret_env,
                           self.client_secret_file)

    def refresh_token(self, section: str) -> SecretStr | None:
        return read_secret(section, "refresh_token", self.refresh_token_env,
                           self.refresh_token_file)


def read_secret(section: str, key: str, env: str | None, file: Path | None) -> SecretStr | None:
    """A secret from the environment variable or file the settings name; never from TOML."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{section}.{key}_env: environment variable {env} is not set")
        return SecretStr(value.strip())
    if file:
        try:
            return SecretStr(file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(
                f"{section}.{key}_file: cannot read {file}: {exc.strerror}") from None
    return None
