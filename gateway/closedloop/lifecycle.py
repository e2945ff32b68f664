"""The record's lifecycle as an explicit state machine: 待处理 → 处理中 → 已完成 → 已关闭.

transition(state, event) is pure: it says the next state, the actions the caller must carry
out (stamp a time, queue a mail) and why, or refuses with the reason. The caller applies the
actions inside the mail's transaction; every transition is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.model import Status


class Event(StrEnum):
    REPLIED = "replied"  # staff answered the originator (relayed)
    START = "start"  # 状态: 处理中 (also reopens a resolved or closed record)
    RESOLVE = "resolve"  # 状态: 已完成
    CLOSE = "close"  # 状态: 已关闭 / #close, by staff
    RATED = "rated"  # the originator rated 3–5
    RATED_LOW = "rated_low"  # the originator rated 1–2
    WAIT_ELAPSED = "wait_elapsed"  # no rating within [loop] close_after of resolution


class Action(StrEnum):
    STAMP_FIRST_RESPONSE = "stamp_first_response"  # 实际反馈时间, only when not yet set
    STAMP_RESOLVED = "stamp_resolved"  # 完成时间
    STAMP_CLOSED = "stamp_closed"
    CLEAR_RESOLUTION_TIMES = "clear_resolution_times"  # reopened: not resolved any more
    SEND_CLOSURE_RECEIPT = "send_closure_receipt"  # resolution, owner, time; asks for a rating
    NOTIFY_HEAD = "notify_head"  # a low rating reopens the record for the department head


@dataclass(frozen=True, slots=True)
class Transition:
    before: Status
    event: Event
    after: Status
    actions: tuple[Action, ...]
    allowed: bool
    reason: str

    @property
    def changed(self) -> bool:
        return self.after is not self.before


_S = Status
_A = Action
# (state, event) → (next state, actions, why). Missing pairs are refused.
TABLE: dict[tuple[Status, Event], tuple[Status, tuple[Action, ...], str]] = {
    (_S.OPEN, Event.REPLIED): (_S.IN_PROGRESS, (_A.STAMP_FIRST_RESPONSE,), "首次答复, 开始处理"),
    (_S.IN_PROGRESS, Event.REPLIED): (_S.IN_PROGRESS, (_A.STAMP_FIRST_RESPONSE,), "继续处理"),
    (_S.RESOLVED, Event.REPLIED): (_S.RESOLVED, (), "完成后补充答复"),
    (_S.CLOSED, Event.REPLIED): (_S.CLOSED, (), "关闭后补充答复"),
    (_S.OPEN, Event.START): (_S.IN_PROGRESS, (), "开始处理"),
    (_S.IN_PROGRESS, Event.START): (_S.IN_PROGRESS, (), "已在处理中"),
    (_S.RESOLVED, Event.START): (_S.IN_PROGRESS, (_A.CLEAR_RESOLUTION_TIMES,), "重新打开"),
    (_S.CLOSED, Event.START): (_S.IN_PROGRESS, (_A.CLEAR_RESOLUTION_TIMES,), "重新打开"),
    (_S.OPEN, Event.RESOLVE): (
        _S.RESOLVED, (_A.STAMP_FIRST_RESPONSE, _A.STAMP_RESOLVED, _A.SEND_CLOSURE_RECEIPT),
        "处理完成, 发送结案回执"),
    (_S.IN_PROGRESS, Event.RESOLVE): (
        _S.RESOLVED, (_A.STAMP_FIRST_RESPONSE, _A.STAMP_RESOLVED, _A.SEND_CLOSURE_RECEIPT),
        "处理完成, 发送结案回执"),
    (_S.OPEN, Event.CLOSE): (_S.CLOSED, (_A.STAMP_CLOSED,), "由处理人直接关闭"),
    (_S.IN_PROGRESS, Event.CLOSE): (_S.CLOSED, (_A.STAMP_CLOSED,), "由处理人直接关闭"),
    (_S.RESOLVED, Event.CLOSE): (_S.CLOSED, (_A.STAMP_CLOSED,), "由处理人关闭, 不再等待评价"),
    (_S.RESOLVED, Event.RATED): (_S.CLOSED, (_A.STAMP_CLOSED,), "发起人已评价, 闭环"),
    (_S.CLOSED, Event.RATED): (_S.CLOSED, (), "发起人更新了评价"),
    (_S.RESOLVED, Event.RATED_LOW): (
        _S.IN_PROGRESS, (_A.CLEAR_RESOLUTION_TIMES, _A.NOTIFY_HEAD),
        "评价过低, 重新打开并通知部门负责人"),
    (_S.CLOSED, Event.RATED_LOW): (
        _S.IN_PROGRESS, (_A.CLEAR_RESOLUTION_TIMES, _A.NOTIFY_HEAD),
        "评价过低, 重新打开并通知部门负责人"),
    (_S.RESOLVED, Event.WAIT_ELAPSED): (_S.CLOSED, (_A.STAMP_CLOSED,), "等待评价超时, 自动关闭"),
}

_REFUSALS: dict[Event, str] = {
    Event.RESOLVE: "记录已是{state}, 不能再标记为已完成",
    Event.CLOSE: "记录已关闭",
    Event.RATED: "记录尚未完成, 不能评价",
    Event.RATED_LOW: "记录尚未完成, 不能评价",
    Event.WAIT_ELAPSED: "记录不在等待评价的状态",
}


def transition(state: Status, event: Event) -> Transition:
    """The next state and the actions for `event` in `state`; refused pairs keep the state."""
    state, event = Status(state), Event(event)
    found = TABLE.get((state, event))
    if found is None:
        reason = _REFUSALS.get(event, "不允许的状态变化").format(state=state.label)
        return Transition(state, event, state, (), False, reason)
    after, actions, reason = found
    return Transition(state, event, after, actions, True, reason)


def status_event(target: Status) -> Event:
    """The event a `状态:` command asks for."""
    return {
        Status.OPEN: Event.START,  # 待处理 written by staff means "back on the desk"
        Status.IN_PROGRESS: Event.START,
        Status.RESOLVED: Event.RESOLVE,
        Status.CLOSED: Event.CLOSE,
    }[Status(target)]
