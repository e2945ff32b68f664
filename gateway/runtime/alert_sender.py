"""The alert outbox sent: signed at sending, retried with backoff, held to each robot's limit."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import SecretStr

from gateway.alerts.answers import Answer, judge, room
from gateway.alerts.channels import RobotKind
from gateway.alerts.message import text_body
from gateway.alerts.signing import signed_request
from gateway.db import alerts
from gateway.db.sessions import Sessions
from gateway.im_settings import ImChannelSettings, ImSettings
from gateway.outbox.im import HttpAnswer, WebhookUnreachable, post_json
from gateway.outbox.sender import backoff

log = logging.getLogger(__name__)

FLUSH_BATCH = 200
Post = Callable[[str, bytes, float], HttpAnswer]


@dataclass(frozen=True)
class Robot:
    """A channel as the sender needs it: where to post and how to sign."""

    name: str
    kind: RobotKind
    webhook: str
    secret: SecretStr | None

    @classmethod
    def of(cls, channel: ImChannelSettings) -> Robot:
        return cls(channel.name, RobotKind(channel.kind), channel.webhook, channel.secret())


@dataclass
class AlertFlush:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # over a robot's per-minute limit

    def __bool__(self) -> bool:
        return bool(self.sent or self.retried or self.dead)


class AlertSender:
    """Posts the queued alerts; marks one sent only after its robot answered 0."""

    def __init__(self, sessions: Sessions, settings: ImSettings, *,
                 rng: random.Random | None = None, post: Post = post_json):
        self._sessions = sessions
        self._settings = settings
        self._robots = {c.name: Robot.of(c) for c in settings.channel}
        self._rng = rng or random.Random()
        self._post = post

    def send_now(self, robot: Robot, body: dict, now: datetime) -> Answer:
        """One signed POST and the robot's answer read; never raises for a failed send."""
        secret = robot.secret.get_secret_value() if robot.secret else None
        url, data = signed_request(robot.kind, robot.webhook, body, secret, now)
        try:
            answer = self._post(url, data, self._settings.timeout)
        except WebhookUnreachable as exc:
            return Answer(False, None, f"unreachable: {exc}")
        return judge(robot.kind, answer.status, answer.text)

    def test(self, name: str, now: datetime, gateway_name: str) -> Answer:
        """`gateway im test NAME`: a test message now, outside the outbox."""
        robot = Robot.of(self._settings.find(name))
        text = (f"【测试】{gateway_name} 即时消息通道 {name} ({robot.kind.value}) 已连通。\n"
                f"{now.isoformat(timespec='seconds')}")
        return self.send_now(robot, text_body(robot.kind, text), now)

    def flush(self, now: datetime, limit: int = FLUSH_BATCH) -> AlertFlush:
        result = AlertFlush()
        if not self._robots:
            return result
        with self._sessions() as session:
            rows = alerts.due(session, now, limit)
            recent = alerts.sent_since(session, now - timedelta(minutes=1)) if rows else {}
        down: set[str] = set()  # channels that failed this round: the rest of theirs waits
        for row in rows:
            robot = self._robots.get(row.channel)
            if row.channel in down:
                continue
            if robot is None:
                self._failed(row, f"no [[im.channel]] named {row.channel!r} any more", now,
                             result, dead=True)
                continue
            if room(robot.kind, recent.get(row.channel, 0)) == 0:
                result.held.append(row.id)
                continue
            answer = self.send_now(robot, row.body, now)
            if answer.ok:
                recent[row.channel] = recent.get(row.channel, 0) + 1
                with self._sessions.begin() as session:
                    alerts.mark_sent(session, row.id, now)
                result.sent.append(row.id)
            else:
                log.warning("alert %s to %s: %s", row.id, row.channel, answer)
                self._failed(row, str(answer), now, result, wait=answer.wait)
                # One timeout per robot and round at most: the mail in this process waits on it.
                down.add(row.channel)
        if result.held:
            with self._sessions.begin() as session:
                alerts.postpone(session, result.held, now + timedelta(seconds=15))
        return result

    def _failed(self, row, error: str, now: datetime, result: AlertFlush, *,
                wait: float = 0.0, dead: bool = False) -> None:
        s = self._settings
        tries = row.attempts + 1
        dead = dead or tries >= s.max_attempts
        delay = max(backoff(tries, s.backoff_initial, s.backoff_max, self._rng),
                    timedelta(seconds=wait))
        with self._sessions.begin() as session:
            alerts.mark_retry(session, row.id, error, now + delay, dead=dead)
        (result.dead if dead else result.retried).append(row.id)
        if dead:
            log.error("alert %s to %s dead after %d attempt(s): %s", row.id, row.channel,
                      tries, error)
