"""Fault injection: named points where a test may kill the process as abruptly as SIGKILL."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

# Where a crash can fall in the life of one mail, in the order a mail passes them.
FAULT_POINTS = (
    "after_fetch",  # mails read from the mailbox, nothing stored yet
    "after_parse",  # one mail parsed, its transaction not begun
    "after_commit",  # records committed, mailbox not yet settled
    "after_move",  # IMAP MOVE done, checkpoint not yet saved
    "after_settle",  # mailbox settled and checkpoint saved
    "after_smtp_accept",  # the SMTP server said 250, the outbox row is not yet marked sent
)
FAULT_EXIT = 86  # the exit status of an injected crash, so a test can tell it from a bug


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Crash at `point` with `probability` per pass, or exactly on its `nth` pass."""

    point: str
    probability: float | None = None
    nth: int | None = None


def parse_faults(spec: str) -> tuple[FaultRule, ...]:
    """`after_commit:0.1,after_move:3`: a fraction is a probability, an integer the Nth pass."""
    rules = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        point, _, value = item.partition(":")
        if point not in FAULT_POINTS:
            raise ValueError(f"unknown fault point {point!r}; known: {', '.join(FAULT_POINTS)}")
        if value.isdigit() and int(value) >= 1:
            rules.append(FaultRule(point, nth=int(value)))
            continue
        try:
            probability = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: give a probability (0.1) or a pass number (3)") from None
        if not 0 < probability <= 1:
            raise ValueError(f"{item!r}: a probability lies in (0, 1]")
        rules.append(FaultRule(point, probability=probability))
    return tuple(rules)


class FaultInjector:
    """Called at every point; exits without cleanup (no finally, no flush) when a rule hits."""

    def __init__(self, rules: tuple[FaultRule, ...], rng: random.Random | None = None):
        self._rules = rules
        self._rng = rng or random.Random()
        self._passes: dict[str, int] = {}

    def __call__(self, point: str) -> None:
        passes = self._passes[point] = self._passes.get(point, 0) + 1
        for rule in self._rules:
            if rule.point != point:
                continue
            if rule.nth == passes or (rule.probability and self._rng.random() < rule.probability):
                os.write(2, f"fault injected: {point} (pass {passes})\n".encode())
                os._exit(FAULT_EXIT)


def no_faults(point: str) -> None:
    """The production default: every point is a no-op."""
