"""What every process forked from the daemon does first: take a name, and die with its parent."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal

log = logging.getLogger(__name__)

PR_SET_NAME, PR_SET_PDEATHSIG = 15, 1  # linux/prctl.h


def become_child(name: str) -> None:
    """Show as `name` in ps and top (at most 15 bytes), and end when the daemon ends.

    A daemon killed by SIGKILL runs no cleanup; an orphaned outbox sender would go on sending
    beside the restarted daemon's new one, an orphaned reader would hold the mailbox. Where
    prctl is missing, each child's own look at its parent does the same, later.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        libc.prctl(PR_SET_NAME, name.encode()[:15])
    except (OSError, AttributeError):
        log.debug("prctl unavailable; relying on the parent check")
