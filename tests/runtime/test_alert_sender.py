"""The alert outbox against local robots: sent once, retried, held to the limit, dead at last."""

from __future__ import annotations

from datetime import timedelta

import pytest
from imservers import ROBOTS, DingtalkRobot
from imsetup import OWNER_FEISHU, OWNER_MOBILE, SECRETS, channel, rules_with_people
from recordmaker import MONDAY, add_record, offline_gateway

from gateway.db.models import AlertOutbox, LogEntry
from gateway.runtime.health import run_checks
from gateway.usecases.alerts import queue_alert

pytestmark = pytest.mark.integration
OWNER = "wang.weixiu@corp.example"


class Clock:
    def __init__(self):
        self.now = MONDAY

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    for kind, secret in SECRETS.items():
        monkeypatch.setenv(f"TEST_{kind.upper()}_SECRET", secret)


def robot_of(kind, clock, **options):
    options.setdefault("secret", SECRETS.get(kind))
    return ROBOTS[kind](clock=lambda: clock().timestamp(), **options).start()


def make_gateway(tmp_path, clock, robots, **im):
    gateway = offline_gateway(tmp_path, gateway={"rules_dir": str(rules_with_people(tmp_path))},
                              im={"channel": [channel(r) for r in robots], **im})
    gateway.clock = clock
    return gateway


def open_records(gateway, n=1, *, event="critical_opened", **fields):
    ids = []
    for _ in range(n):
        with gateway.sessions.begin() as session:
            record = add_record(session, urgency="critical", owner_addr=OWNER,
                                owner_name="王维修", **fields)
            session.flush()
            queue_alert(session, gateway.services, record, event, gateway.clock())
            ids.append(record.id)
    return ids


def rows(gateway):
    with gateway.sessions() as session:
        return [(r.channel, r.status, r.attempts) for r in
                session.query(AlertOutbox).order_by(AlertOutbox.id)]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_an_alert_reaches_its_robot_once_signed_and_mentioning_the_owner(tmp_path, clock, kind):
    robot = robot_of(kind, clock)
    gateway = make_gateway(tmp_path, clock, [robot])
    try:
        (record_id,) = open_records(gateway)
        assert len(gateway.flush_alerts().sent) == 1
        assert not gateway.flush_alerts()  # nothing left: never sent twice
        clock.now += timedelta(hours=1)
        assert not gateway.flush_alerts()
        (body,) = robot.messages
        text = robot.text_of(body)
        for part in (record_id, "特急", "生产部", "设备故障通知", "王维修", "期限"):
            assert part in text
        mentioned = {"wecom": lambda: body["text"]["mentioned_mobile_list"] == [OWNER_MOBILE],
                     "dingtalk": lambda: body["at"]["atMobiles"] == [OWNER_MOBILE],
                     "feishu": lambda: f'<at user_id="{OWNER_FEISHU}">' in text}[kind]
        assert mentioned()
        assert rows(gateway) == [(f"{kind}-群", "sent", 1)]
        with gateway.sessions() as session:
            log = session.query(LogEntry).filter_by(record_id=record_id, kind="alert").one()
            assert f"{kind}-群" in log.text
    finally:
        gateway.close()
        robot.stop()


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_http_errors_and_the_robots_own_codes_are_retried_with_backoff(tmp_path, clock, kind):
    robot = robot_of(kind, clock)
    gateway = make_gateway(tmp_path, clock, [robot], backoff_initial=30)
    rate_code = {"wecom": 45009, "dingtalk": 130101, "feishu": 11232}[kind]
    try:
        open_records(gateway)
        robot.fail_next(1, status=502)
        robot.fail_next(1, code=rate_code)
        assert len(gateway.flush_alerts().retried) == 1  # 502
        assert not gateway.flush_alerts()  # not due before its backoff
        clock.now += timedelta(seconds=40)  # 30 s ± 20 %
        assert len(gateway.flush_alerts().retried) == 1  # the rate-limit code: a minute at least
        clock.now += timedelta(seconds=55)  # a minute at least (the second backoff: 48–72 s)
        assert not gateway.flush_alerts()
        clock.now += timedelta(seconds=20)
        assert len(gateway.flush_alerts().sent) == 1
        assert len(robot.messages) == 1 and len(robot.requests) == 3
        assert rows(gateway) == [(f"{kind}-群", "sent", 3)]
    finally:
        gateway.close()
        robot.stop()


def test_dingtalk_gets_no_more_than_20_a_minute_and_the_rest_follow(tmp_path, clock):
    robot = robot_of("dingtalk", clock)
    gateway = make_gateway(tmp_path, clock, [robot])
    try:
        open_records(gateway, 25)
        first = gateway.flush_alerts()
        assert (len(first.sent), len(first.held)) == (20, 5)
        clock.now += timedelta(seconds=30)
        assert not gateway.flush_alerts().sent  # still the same minute for the robot
        clock.now += timedelta(seconds=31)
        assert len(gateway.flush_alerts().sent) == 5
        assert len(robot.messages) == 25
        assert all(answer[1]["errcode"] == 0 for _, _, answer in robot.requests)  # no 130101
        assert {attempts for _, _, attempts in rows(gateway)} == {1}  # holding is no attempt
    finally:
        gateway.close()
        robot.stop()


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_retried_then_dead_and_health_names_the_channel(
        tmp_path, clock, kind, monkeypatch):
    robot = robot_of(kind, clock, secret="the-robot-has-another-secret")
    gateway = make_gateway(tmp_path, clock, [robot], max_attempts=3, backoff_initial=10)
    try:
        open_records(gateway)
        for _ in range(2):
            assert len(gateway.flush_alerts().retried) == 1
            clock.now += timedelta(minutes=5)
        assert len(gateway.flush_alerts().dead) == 1
        clock.now += timedelta(hours=1)
        assert not gateway.flush_alerts()
        assert rows(gateway) == [(f"{kind}-群", "dead", 3)]
        assert robot.messages == []
        code = {"dingtalk": "310000", "feishu": "19021"}[kind]
        (im,) = [c for c in run_checks(gateway.settings, clock()) if c.name == "im"]
        assert not im.ok and f"{kind}-群 dead" in im.detail and code in im.detail
    finally:
        gateway.close()
        robot.stop()


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_clock_an_hour_and_more_off_is_refused_by_the_robot(tmp_path, clock, kind):
    robot = ROBOTS[kind](secret=SECRETS[kind],
                         clock=lambda: clock().timestamp() + 3700).start()  # robot 62 min ahead
    gateway = make_gateway(tmp_path, clock, [robot])
    try:
        open_records(gateway)
        assert len(gateway.flush_alerts().retried) == 1
        assert robot.messages == []
    finally:
        gateway.close()
        robot.stop()


def test_health_is_fine_once_a_channel_sends_again(tmp_path, clock):
    robot = robot_of("dingtalk", clock)
    gateway = make_gateway(tmp_path, clock, [robot])
    try:
        open_records(gateway)
        robot.fail_next(1, status=500)
        gateway.flush_alerts()
        (im,) = [c for c in run_checks(gateway.settings, clock()) if c.name == "im"]
        assert not im.ok and "failing after 1 attempt(s)" in im.detail and "HTTP 500" in im.detail
        clock.now += timedelta(minutes=2)
        gateway.flush_alerts()
        (im,) = [c for c in run_checks(gateway.settings, clock()) if c.name == "im"]
        assert im.ok and "dingtalk-群 sent" in im.detail
    finally:
        gateway.close()
        robot.stop()


def test_a_classified_record_alerts_with_id_and_urgency_only(tmp_path, clock):
    robot = robot_of("dingtalk", clock)
    gateway = make_gateway(tmp_path, clock, [robot])
    try:
        (record_id,) = open_records(gateway, archive_class="classified")
        gateway.flush_alerts()
        (body,) = robot.messages
        text = robot.text_of(body)
        assert record_id in text and "特急" in text
        for secret in ("设备故障通知", "生产部", "王维修", OWNER_MOBILE):
            assert secret not in str(body)
        assert body["at"]["atMobiles"] == []
    finally:
        gateway.close()
        robot.stop()


def test_channels_hear_only_their_departments_and_events(tmp_path, clock, monkeypatch):
    production = robot_of("wecom", clock)
    quality = robot_of("wecom", clock)
    gateway = offline_gateway(tmp_path, gateway={"rules_dir": str(rules_with_people(tmp_path))},
                              im={"channel": [
                                  channel(production, "生产值班群", departments=["生产部"]),
                                  channel(quality, "质量群", events=["breach"])]})
    gateway.clock = clock
    try:
        open_records(gateway)  # critical_opened in 生产部
        open_records(gateway, event="breach", department="质量部")
        gateway.flush_alerts()
        assert len(production.messages) == 1 and "生产部" in production.texts()[0]
        assert len(quality.messages) == 1 and "质量部" in quality.texts()[0]
    finally:
        gateway.close()
        production.stop()
        quality.stop()


def test_a_robot_that_does_not_answer_is_retried(tmp_path, clock):
    robot = DingtalkRobot(clock=lambda: clock().timestamp()).start()
    gateway = make_gateway(tmp_path, clock, [robot])
    robot.stop()  # its port now refuses connections
    try:
        open_records(gateway)
        result = gateway.flush_alerts()
        assert len(result.retried) == 1
        with gateway.sessions() as session:
            error = session.query(AlertOutbox).one().last_error
        assert error.startswith("unreachable: 127.0.0.1:") and "access_token" not in error
    finally:
        gateway.close()


def test_a_critical_mail_and_its_alert_commit_together_on_each_backend(tmp_path, clock,
                                                                      storage_url):
    from mailmaker import gbk_mail

    from gateway.model import FetchedMail

    robot = robot_of("feishu", clock)
    gateway = offline_gateway(tmp_path, gateway={"rules_dir": str(rules_with_people(tmp_path))},
                              database={"url": storage_url}, im={"channel": [channel(robot)]})
    gateway.clock = clock
    try:
        raw = gbk_mail("【特急】生产部-设备故障通知")
        created = gateway.ingest(FetchedMail("test:1", raw, len(raw)))
        ordinary = gbk_mail("【紧急】生产部-设备故障通知", message_id="fault-2@customer.example")
        gateway.ingest(FetchedMail("test:2", ordinary, len(ordinary)))  # 紧急: no alert
        assert len(gateway.flush_alerts().sent) == 1
        (text,) = robot.texts()
        assert text.startswith(f"【特急事项】{created.record_id} 特急")
        with gateway.sessions() as session:
            (row,) = session.query(AlertOutbox).all()
            assert (row.record_id, row.event, row.status) == (
                created.record_id, "critical_opened", "sent")
    finally:
        gateway.close()
        robot.stop()


def test_a_failing_robot_costs_one_request_per_round_and_the_others_go_on(tmp_path, clock):
    down = robot_of("wecom", clock)
    up = robot_of("dingtalk", clock)
    gateway = make_gateway(tmp_path, clock, [down, up])
    try:
        open_records(gateway, 3)
        down.fail_next(10, status=503)
        result = gateway.flush_alerts()
        assert (len(result.sent), len(result.retried)) == (3, 1)
        assert len(down.requests) == 1 and len(up.messages) == 3
        assert sorted(s for c, s, _ in rows(gateway) if c == "wecom-群") == ["pending"] * 3
    finally:
        gateway.close()
        down.stop()
        up.stop()
