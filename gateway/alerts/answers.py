"""What a robot's answer means: sent, or worth another try and how soon."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gateway.alerts.channels import RobotKind

# Messages a robot takes per minute (WeCom and DingTalk 20, Feishu 100); more are refused.
PER_MINUTE = {RobotKind.WECOM: 20, RobotKind.DINGTALK: 20, RobotKind.FEISHU: 100}
# The robots' own "too many messages" codes: wait a minute before the next try.
RATE_LIMITED = {
    RobotKind.WECOM: {45009},
    RobotKind.DINGTALK: {130101},
    RobotKind.FEISHU: {11232},
}
RATE_WAIT = 60.0  # seconds
# Where each vendor puts its code and message in the answer.
_FIELDS = {
    RobotKind.WECOM: ("errcode", "errmsg"),
    RobotKind.DINGTALK: ("errcode", "errmsg"),
    RobotKind.FEISHU: ("code", "msg"),
}


@dataclass(frozen=True, slots=True)
class Answer:
    ok: bool
    code: int | None  # the robot's own code; None when the answer was no JSON
    message: str
    wait: float = 0.0  # seconds at least before another try (a rate limit)

    def __str__(self) -> str:
        return f"{self.code} {self.message}" if self.code is not None else self.message


def judge(kind: RobotKind, status: int, text: str) -> Answer:
    """Read the HTTP status and body. Anything but the robot's 0 is a failure to retry:
    sign errors come of clock skew as well as of a wrong secret, and a webhook that stays
    wrong is dead-lettered after the last attempt."""
    code_key, message_key = _FIELDS[kind]
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get(code_key), int):
        snippet = " ".join(text.split())[:200]
        wait = RATE_WAIT if status == 429 else 0.0
        return Answer(False, None, f"HTTP {status}: {snippet or 'no body'}", wait)
    code = data[code_key]
    message = str(data.get(message_key, ""))
    if code == 0 and 200 <= status < 300:
        return Answer(True, 0, message or "ok")
    wait = RATE_WAIT if code in RATE_LIMITED[kind] or status == 429 else 0.0
    return Answer(False, code, f"{message} (HTTP {status})" if status >= 300 else message, wait)


def room(kind: RobotKind, sent_last_minute: int) -> int:
    """How many more messages the robot takes in this minute."""
    return max(0, PER_MINUTE[kind] - sent_last_minute)
