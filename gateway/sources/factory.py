"""Builds the configured mail source, with its checkpoint kept in the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gateway.config import Settings
from gateway.credentials.factory import token_provider
from gateway.db import checkpoints
from gateway.db.sessions import Sessions
from gateway.db.writeturn import WriteTurn
from gateway.model import Checkpoint
from gateway.sources.base import Source
from gateway.sources.imap import ImapSource
from gateway.sources.imap_settings import ImapSettings
from gateway.sources.maildir import MaildirSource


def make_source(
    settings: Settings,
    sessions: Sessions,
    clock: Callable[[], datetime],
    faults: Callable[[str], None] = lambda point: None,
    write_turn: WriteTurn = WriteTurn(),
) -> Source:
    box = settings.mailbox
    if box.kind == "maildir":
        return MaildirSource(settings.maildir_path, faults=faults)
    imap = imap_settings(settings)
    key = f"imap:{box.user}@{box.host}/{box.folder}"

    def load() -> Checkpoint | None:
        with sessions() as session:
            return checkpoints.load(session, key)

    def save(point: Checkpoint) -> None:
        with write_turn.asked(), sessions.begin() as session:
            checkpoints.save(session, key, point, clock())

    return ImapSource(imap, load, save, faults=faults,
                      tokens=token_provider("mailbox", box, imap.user))


def imap_settings(settings: Settings, timeout: float = 60.0) -> ImapSettings:
    box = settings.mailbox
    password = None if box.uses_token else box.password("mailbox")
    return ImapSettings(
        host=box.host,
        port=box.effective_port,
        tls=box.tls,
        user=box.user or "",
        password=password.get_secret_value() if password else "",
        folder=box.folder,
        processed_folder=box.processed_folder,
        quarantine_folder=box.quarantine_folder,
        use_idle=box.idle,
        poll_interval=box.poll_interval,
        send_id=box.send_id,
        max_size=box.max_size,
        batch=box.batch,
        ca_file=box.ca_file,
        timeout=timeout,
    )
