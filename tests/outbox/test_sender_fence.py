"""The outbox sender stops between two mails once it may no longer send (its lease runs out)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.db import outbox
from gateway.db.models import Outbox

pytestmark = pytest.mark.integration


def queue(gateway, n: int) -> None:
    with gateway.sessions.begin() as session:
        for i in range(n):
            outbox.enqueue(session, message_id=f"fence-{i}@gateway.corp.example", kind="notify",
                           raw=b"Subject: x\r\n\r\nbody\r\n", subject="x",
                           envelope_from="gateway@corp.example", recipients=["a@corp.example"],
                           record=None, now=gateway.clock())


def rows(gateway) -> list[tuple[str, int]]:
    with gateway.sessions() as session:
        return [(r.status, r.attempts) for r in session.scalars(select(Outbox).order_by(Outbox.id))]


@pytest.mark.parametrize("allowed", [0, 3])
def test_a_sender_that_may_no_longer_send_leaves_the_rest_pending_untouched(
        gateway, smtp_capture, allowed):
    queue(gateway, 10)
    asked = []

    def may_send() -> bool:
        asked.append(1)
        return len(smtp_capture.messages) < allowed or (allowed and len(asked) <= allowed)

    gateway.sender.may_send = may_send
    gateway.flush()
    sent = len(smtp_capture.messages)
    assert sent <= allowed + gateway.settings.smtp.connections  # in flight when it turned
    assert sent == sum(status == "sent" for status, _ in rows(gateway))
    assert all(row == ("pending", 0) for row in rows(gateway) if row[0] != "sent")
    gateway.sender.may_send = lambda: True
    gateway.flush()
    assert len(smtp_capture.messages) == 10  # the rest go out once allowed, each once


def test_what_follows_a_commit_of_sent_runs_once_the_write_lock_is_let_go(gateway, smtp_capture):
    import threading

    from gateway.db.writeturn import WriteTurn

    queue(gateway, 5)
    asking = threading.Event()  # raised while the sender waits for, and holds, its turn
    gateway.sender._write_turn = WriteTurn(asking)
    seen = []
    gateway.sender.after_marking = lambda: seen.append(
        (asking.is_set(), sum(status == "sent" for status, _ in rows(gateway))))
    gateway.flush()
    assert seen and all(not held for held, _ in seen)  # the daemon's checkpoint goes here
    assert seen[-1][1] == 5  # and what was marked is committed by then
