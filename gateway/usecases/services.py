"""What the use cases share: the services they run on, and what came of one mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from gateway.alerts.channels import Channel
from gateway.db.sessions import Sessions
from gateway.deadlines.chase import ChasePolicy
from gateway.deadlines.duration import Duration, Unit, parse_duration
from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import WorkCalendar
from gateway.identity import Identity
from gateway.model import Address, Settlement, Urgency
from gateway.outgoing.autoreply import AutoReplyCap
from gateway.outgoing.render import Renderer
from gateway.routing.ruleset import RuleSet

if TYPE_CHECKING:
    from gateway.config import Settings

DEFAULT_CLOSE_AFTER = Duration(5, Unit.WORKING_DAYS)


@dataclass(frozen=True)
class ClosedLoopPolicy:
    """How the closed loop (闭环) runs: the wait for a rating, the note address, whom to trust."""

    close_after: Duration = DEFAULT_CLOSE_AFTER
    note_tag: str = "note"  # gateway+note@… takes internal remarks
    trusted_authserv_id: str | None = None
    admins: frozenset[str] = frozenset()  # may change any record ([gateway] admins)

    @classmethod
    def from_settings(cls, settings: Settings) -> ClosedLoopPolicy:
        return cls(settings.loop.close_after, settings.loop.note_tag,
                   settings.gateway.trusted_authserv_id, frozenset(settings.gateway.admins))


_APPROVAL_DEADLINES = {Urgency.NORMAL: "1 working day", Urgency.URGENT: "2 hours",
                       Urgency.CRITICAL: "immediately"}


@dataclass(frozen=True)
class OutboundPolicy:
    """Messages the enterprise starts: its groups, whether the sender is copied, approval time."""

    groups: dict[str, Address] = field(default_factory=dict)  # name → list address
    cc_sender: bool = True
    approval_deadlines: dict[Urgency, Duration] = field(default_factory=lambda: {
        u: parse_duration(t) for u, t in _APPROVAL_DEADLINES.items()})

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        section = settings.outbound
        deadlines = {u: parse_duration(t) for u, t in _APPROVAL_DEADLINES.items()}
        deadlines.update({Urgency(k): v for k, v in section.approval_deadlines.items()})
        groups = {name: Address(name, addr.strip().lower())
                  for name, addr in settings.groups.items()}
        return cls(groups, section.cc_sender, deadlines)


class Disposition(StrEnum):
    """What was done with one incoming mail."""

    CREATED = "created"  # a new record
    APPENDED = "appended"  # added to an existing record's log
    DUPLICATE = "duplicate"  # this Message-ID was stored before; nothing done
    IGNORED = "ignored"  # stored, but automatic mail that belongs to no record
    QUARANTINED = "quarantined"  # kept with a reason, not routed

    @property
    def settlement(self) -> Settlement:
        return Settlement.QUARANTINED if self is Disposition.QUARANTINED else Settlement.PROCESSED


@dataclass(frozen=True, slots=True)
class Result:
    action: Disposition
    record_id: str | None = None
    reason: str | None = None
    queued: tuple[str, ...] = ()  # Message-IDs of the mails queued for sending


@dataclass
class Services:
    """What processing a mail needs, built once from settings by the caller."""

    sessions: Sessions
    rules: Callable[[], RuleSet]  # the rule set in force now (reloadable)
    renderer: Renderer
    calendar: WorkCalendar
    policy: DeadlinePolicy
    identity: Identity
    faults: Callable[[str], None] = field(default=lambda point: None)
    loop: ClosedLoopPolicy = field(default_factory=ClosedLoopPolicy)
    auto_reply_cap: AutoReplyCap = AutoReplyCap()
    max_size: int = 25 * 1024 * 1024  # bytes; the limit the oversize reply names
    alert_channels: tuple[Channel, ...] = ()  # [[im.channel]]: group-chat robots (alerts.py)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    chase: ChasePolicy = field(default_factory=ChasePolicy)  # [chase]: reminders, follow-ups
