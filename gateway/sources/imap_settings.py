"""How to reach an IMAP folder: server, TLS, login, folders and fetch limits (password masked)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import get_args

from gateway import __version__
from gateway.config import TlsMode
from gateway.errors import ConfigError

TLS_MODES = get_args(TlsMode)
MASK = "'***'"


@dataclass(frozen=True, repr=False)
class ImapSettings:
    host: str
    port: int
    tls: TlsMode
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str | None = "Processed"  # None: mark \Seen + $GatewayDone, leave in place
    quarantine_folder: str | None = "Quarantine"  # None: mark, like processed_folder
    use_idle: bool = True
    poll_interval: float = 30.0
    send_id: bool = False  # NetEase/163 refuses SELECT from clients that did not say ID
    id_fields: Mapping[str, str] = field(
        default_factory=lambda: {"name": "mail-gateway", "version": __version__})
    max_size: int | None = None  # bytes; larger mails come as headers only (truncated)
    batch: int = 200  # UIDs per FETCH command
    timeout: float = 60.0
    ca_file: Path | str | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        # A typo here must not quietly mean plaintext.
        if self.tls not in TLS_MODES:
            raise ConfigError(f"mailbox.tls: {self.tls!r} is not one of {', '.join(TLS_MODES)}")
        if self.batch < 1:
            raise ConfigError("mailbox.batch must be at least 1")

    def __repr__(self) -> str:
        shown = (f"{f.name}={MASK if f.name == 'password' else repr(getattr(self, f.name))}"
                 for f in fields(self))
        return f"ImapSettings({', '.join(shown)})"

    @property
    def flags_only(self) -> bool:
        return self.processed_folder is None or self.quarantine_folder is None
