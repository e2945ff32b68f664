"""Which robot channels hear of which event: the events, the channels, the choice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.deadlines.chase import NoticeKind


class AlertEvent(StrEnum):
    """What an alert is about; the values are the words of `events = [...]` in [[im.channel]]."""

    CRITICAL_OPENED = "critical_opened"  # a 特急 record was opened
    ESCALATION = "escalation"  # a deadline passed and the department head was brought in
    BREACH = "breach"  # a record is past a deadline: the escalation and every follow-up after it
    APPROVAL_WAITING = "approval_waiting"  # an outbound mail waits for its approver

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    AlertEvent.CRITICAL_OPENED: "特急事项",
    AlertEvent.ESCALATION: "超时升级",
    AlertEvent.BREACH: "超时未办",
    AlertEvent.APPROVAL_WAITING: "等待审批",
}


class RobotKind(StrEnum):
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉自定义机器人
    FEISHU = "feishu"  # 飞书自定义机器人


@dataclass(frozen=True, slots=True)
class Channel:
    """One group-chat robot as the alert rules see it (no webhook, no secret)."""

    name: str
    kind: RobotKind
    events: frozenset[AlertEvent]
    departments: frozenset[str] | None = None  # None: every department

    def wants(self, event: AlertEvent, department: str | None) -> bool:
        if event not in self.events:
            return False
        return self.departments is None or department in self.departments


def notice_events(kind: NoticeKind) -> tuple[AlertEvent, ...]:
    """The events a chase notice raises, most specific first (a reminder raises none)."""
    if kind is NoticeKind.ESCALATION:
        return (AlertEvent.ESCALATION, AlertEvent.BREACH)
    if kind is NoticeKind.FOLLOW_UP:
        return (AlertEvent.BREACH,)
    return ()


def choose(channels: Iterable[Channel], events: Iterable[AlertEvent],
           department: str | None) -> list[tuple[Channel, AlertEvent]]:
    """Each channel that wants one of `events` once, with the first event it wants.

    A channel listening to both escalation and breach hears of an escalation once, not twice.
    """
    wanted = tuple(events)
    chosen = []
    for channel in channels:
        event = next((e for e in wanted if channel.wants(e, department)), None)
        if event is not None:
            chosen.append((channel, event))
    return chosen
