"""Typed settings of [im]: the group-chat robots that alerts go to ([[im.channel]])."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.errors import ConfigError

EVENTS = ("critical_opened", "escalation", "breach", "approval_waiting")
Event = Literal["critical_opened", "escalation", "breach", "approval_waiting"]


class ImChannelSettings(BaseModel):
    """One [[im.channel]]: a WeCom group robot, a DingTalk custom robot or a Feishu custom bot."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: Literal["wecom", "dingtalk", "feishu"]
    webhook: str  # the robot's full webhook URL; its key or token makes it a secret too
    secret_env: str | None = None  # dingtalk and feishu signing ("加签" / "签名校验")
    secret_file: Path | None = None
    events: tuple[Event, ...] = Field(min_length=1)
    departments: tuple[str, ...] | None = None  # None: every department

    @field_validator("webhook")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("webhook must be the robot's full http(s) URL")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> ImChannelSettings:
        if self.secret_env and self.secret_file:
            raise ValueError("give secret_env or secret_file, not both")
        if (self.secret_env or self.secret_file) and self.kind == "wecom":
            raise ValueError("a WeCom group robot is not signed; its key is in the webhook URL")
        return self

    def __repr__(self) -> str:  # the webhook carries the robot's key or token
        return f"ImChannelSettings(name={self.name!r}, kind={self.kind!r}, webhook='**********')"

    def secret(self) -> SecretStr | None:
        """The signing secret from the environment or a file; never from the TOML itself."""
        where = f"im.channel '{self.name}'"
        if self.secret_env:
            value = os.environ.get(self.secret_env)
            if value is None:
                raise ConfigError(
                    f"{where}.secret_env: environment variable {self.secret_env} is not set")
            return SecretStr(value.strip())
        if self.secret_file:
            try:
                return SecretStr(self.secret_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(f"{where}.secret_file: cannot read {self.secret_file}: "
                                  f"{exc.strerror}") from None
        return None


class ImSettings(BaseModel):
    """[im]: alert channels, and how their outbox retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: tuple[ImChannelSettings, ...] = ()
    timeout: float = Field(default=10.0, gt=0)  # seconds per webhook request
    max_attempts: int = Field(default=10, ge=1)
    backoff_initial: float = Field(default=30.0, gt=0)
    backoff_max: float = Field(default=1800.0, gt=0)

    @field_validator("channel")
    @classmethod
    def _unique(cls, value: tuple[ImChannelSettings, ...]) -> tuple[ImChannelSettings, ...]:
        names = [c.name for c in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"channel names must be unique: {', '.join(twice)}")
        return value

    def find(self, name: str) -> ImChannelSettings:
        for channel in self.channel:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channel) or "none configured"
        raise ConfigError(f"no [[im.channel]] named {name!r} ({known})")
