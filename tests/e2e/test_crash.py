"""Crash anywhere, lose nothing: the real daemon killed at every fault point and from outside."""

from __future__ import annotations

import random
import time

import pytest
from crashrig import FAULT_EXIT, CrashRig

from gateway.faults import FAULT_EXIT as GATEWAY_FAULT_EXIT
from gateway.faults import FAULT_POINTS

pytestmark = pytest.mark.integration

MAILS = 3  # per kill point: enough for a batch, few enough to keep the suite quick
# Points the outbox sender may already be sending at: it is woken after each committed group
# (runtime/assembly.py), and the reader files mails away beside it (runtime/readahead.py).
WHILE_SENDING = ("after_commit", "after_move", "after_settle")


@pytest.fixture
def rig(tmp_path, imap_account, smtp_capture):
    rig = CrashRig(tmp_path, imap_account, smtp_capture)
    yield rig
    rig.kill()


def test_the_rig_and_the_gateway_agree_on_the_crash_exit_status():
    assert FAULT_EXIT == GATEWAY_FAULT_EXIT


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crash_at_each_point_loses_nothing_and_only_smtp_accept_sends_twice(rig, point):
    rig.append(MAILS)
    rig.start(f"{point}:1")
    assert rig.wait_exit(30) == FAULT_EXIT, rig.log_text()
    assert f"fault injected: {point}" in rig.log_text()

    rig.start()
    assert rig.wait_settled(30), rig.log_text()
    figures = rig.figures()
    assert (figures.records, figures.missing, figures.doubled) == (MAILS, 0, 0)
    assert (figures.filed, figures.left_in_inbox) == (MAILS, 0)
    assert figures.queued == 2 * MAILS  # an acknowledgement and a notice each, no twin
    assert (figures.unsent, figures.strangers) == (0, 0)
    if point == "after_smtp_accept":
        # Sent, then killed before the commit: sent again, under the same Message-ID; at most
        # one mail per SMTP connection (smtp.connections = 4) is in that window.
        assert 1 <= figures.duplicates <= 4
    elif point in WHILE_SENDING:
        # The outbox sender already sends what the committed mails caused: a crash there may
        # fall in that same window (sent, "sent" not yet committed), each mail sent again at
        # most once, under the same Message-ID.
        assert figures.most_copies <= 2
    else:
        assert figures.duplicates == 0


def test_sigkill_from_outside_at_random_moments_loses_nothing(rig):
    rng = random.Random(20261124)
    for _ in range(4):
        rig.append(4)
        rig.start()
        time.sleep(rng.uniform(0.5, 2.0))
        rig.kill()
    rig.start()
    assert rig.wait_settled(60), rig.log_text()
    figures = rig.figures()
    assert figures.lost == 0 and figures.doubled == 0 and figures.strangers == 0
    assert figures.records == figures.filed == 16


def test_the_sender_and_the_reader_die_with_a_daemon_killed_from_outside(rig):
    import psutil

    rig.append(1)
    rig.start()
    assert rig.wait_settled(30), rig.log_text()
    daemon = psutil.Process(rig.process.pid)
    children = daemon.children()  # the forked outbox sender and mailbox reader, by name
    assert sorted(child.name() for child in children) == ["gateway-outbox", "gateway-reader"]
    rig.kill()
    # An orphaned sender would send beside the next daemon's own, an orphaned reader hold the
    # mailbox: both must go with their parent.
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert len(gone) == 2 and not alive
