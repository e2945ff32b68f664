"""Instant-message alerts end to end: a real mail over IMAP to the robots on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from clirun import gateway_cmd, write_config
from imservers import DingtalkRobot, FeishuRobot, WecomRobot
from imsetup import HEAD_MOBILE, OWNER_FEISHU, OWNER_MOBILE, SECRETS, channel, rules_with_people
from mailmaker import gbk_mail
from paths import ROOT

from gateway.db.models import AlertOutbox
from gateway.im_settings import ImSettings
from gateway.runtime.assembly import Gateway

pytestmark = pytest.mark.integration
SECRET_ENV = {f"TEST_{kind.upper()}_SECRET": secret for kind, secret in SECRETS.items()}


@pytest.fixture
def robots():
    started = [WecomRobot(token="wecom-key-e2e").start(),
               DingtalkRobot(secret=SECRETS["dingtalk"], token="ding-token-e2e").start(),
               FeishuRobot(secret=SECRETS["feishu"], token="feishu-hook-e2e").start()]
    yield started
    for robot in started:
        robot.stop()


def wait_for(robot, count: int, timeout: float = 20) -> list[dict]:
    end = time.monotonic() + timeout
    while len(robot.messages) < count and time.monotonic() < end:
        time.sleep(0.05)
    return robot.messages


def _toml(table: dict) -> str:
    lines = ["[[im.channel]]"]
    for key, value in table.items():
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(v) for v in value)}]")
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines).replace("'", '"')


def test_a_critical_mail_reaches_every_robot_from_the_daemons_sender_process(
        tmp_path, imap_account, imap_append, smtp_capture, robots):
    config = write_config(tmp_path, smtp_capture.port, imap=imap_account)
    text = config.read_text().replace(f'rules_dir = "{ROOT / "rules"}"',
                                      f'rules_dir = "{rules_with_people(tmp_path)}"')
    config.write_text(text + "\n" + "\n\n".join(_toml(channel(r)) for r in robots) + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_IMAP_PASSWORD": imap_account.password,
           **SECRET_ENV}
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--config", str(config), "run"],
                              cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        imap_append(gbk_mail("【特急】生产部-设备故障通知"))
        assert len(smtp_capture.wait_for(2, timeout=20)) == 2  # the mail loop as before
        wecom, dingtalk, feishu = robots
        for robot in robots:
            assert len(wait_for(robot, 1)) == 1, robot.requests
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    for robot in robots:
        text = robot.texts()[0]
        assert text.startswith("【特急事项】NX-") and "特急" in text
        for part in ("部门: 生产部", "标题: 设备故障通知", "王维修 <wang.weixiu@corp.example>", "期限: "):
            assert part in text
        assert len(robot.requests) == 1  # signed right the first time, sent once
    assert wecom.messages[0]["text"]["mentioned_mobile_list"] == [OWNER_MOBILE]
    assert dingtalk.messages[0]["at"]["atMobiles"] == [OWNER_MOBILE]
    assert f'<at user_id="{OWNER_FEISHU}">王维修</at>' in feishu.texts()[0]
    log = daemon.stderr.read().decode()
    for secret in (*SECRETS.values(), "wecom-key-e2e", "ding-token-e2e", "feishu-hook-e2e"):
        assert secret not in log


def test_the_deadline_chase_alerts_escalation_then_breach_to_the_channels_that_want_them(
        settings, clock, source, imap_append, smtp_capture, tmp_path, monkeypatch):
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    duty = WecomRobot().start()  # critical_opened and escalation, 生产部 only
    watch = DingtalkRobot(secret=SECRETS["dingtalk"], clock=lambda: clock().timestamp()).start()
    im = ImSettings.model_validate({"channel": [
        channel(duty, "生产值班群", events=["critical_opened", "escalation"], departments=["生产部"]),
        channel(watch, "超时督办群", events=["breach"]),
    ]})
    gateway = Gateway(settings.model_copy(update={
        "im": im, "gateway": settings.gateway.model_copy(
            update={"rules_dir": rules_with_people(tmp_path)})}), clock=clock)
    try:
        imap_append(gbk_mail("【特急】生产部-设备故障通知"))
        (created,) = gateway.process_batch(source)
        gateway.flush_alerts()
        assert [t.splitlines()[0] for t in duty.texts()] == [f"【特急事项】{created.record_id} 特急"]
        assert watch.messages == []
        clock.advance(hours=4)  # 14:00: the 4-hour response deadline passes
        gateway.chase()
        gateway.flush_alerts()
        assert duty.texts()[-1].startswith(f"【超时升级】{created.record_id}")
        assert "首次反馈超时升级" in duty.texts()[-1]
        # The watch group listens to breaches: the escalation is one, heard once.
        assert [t.splitlines()[0] for t in watch.texts()] == [f"【超时未办】{created.record_id} 特急"]
        assert watch.messages[0]["at"]["atMobiles"] == [OWNER_MOBILE]
        clock.advance(hours=1, minutes=1)  # the first hourly follow-up of a 特急 record
        gateway.chase()
        gateway.flush_alerts()
        gateway.flush_alerts()
        assert len(duty.messages) == 2  # follow-ups are breaches only
        assert len(watch.messages) == 2 and "跟催" in watch.texts()[-1]
        with gateway.sessions() as session:
            statuses = {r.status for r in session.query(AlertOutbox)}
        assert statuses == {"sent"}
        assert HEAD_MOBILE not in str(watch.messages)  # the owner is mentioned, not the head
    finally:
        gateway.close()
        duty.stop()
        watch.stop()


def test_im_test_prints_the_robots_answer(tmp_path, smtp_capture, robots):
    config = write_config(tmp_path, smtp_capture.port)
    wecom, dingtalk, feishu = robots
    wrong = DingtalkRobot(secret="another-secret").start()
    try:
        tables = [channel(r) for r in robots] + [channel(wrong, "错签名群")]
        config.write_text(config.read_text() + "\n" + "\n\n".join(_toml(t) for t in tables))
        for robot in robots:
            done = gateway_cmd("im", "test", f"{robot.kind}-群", config=config, env=SECRET_ENV)
            assert done.returncode == 0, done.stderr.decode()
            assert done.stdout.decode().startswith(f"{robot.kind}-群 ({robot.kind}): ok 0 ")
            assert "【测试】" in robot.texts()[-1]
        done = gateway_cmd("im", "test", "错签名群", config=config, env=SECRET_ENV)
        assert done.returncode == 69
        assert "FAIL 310000 sign not match" in done.stdout.decode()
        done = gateway_cmd("im", "test", "dingtalk-群", config=config)  # its secret unset
        assert done.returncode != 0
        assert "TEST_DINGTALK_SECRET is not set" in done.stderr.decode()
        done = gateway_cmd("run", config=config, timeout=30)  # refuses to start without it
        assert done.returncode == 78
        assert "TEST_DINGTALK_SECRET is not set" in done.stderr.decode()
    finally:
        wrong.stop()
