"""What an alert says and the body each robot gets: shapes, mentions, 涉密 left out."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imservers import ROBOTS

from gateway.alerts.channels import AlertEvent, RobotKind
from gateway.alerts.message import CLASSIFIED_NOTE, Alert, Mention, alert_body, alert_text

MENTION = Mention("王维修", "13800138000", "ou_7d8a6e6df7621556ce0d21922b676706ccs")
ALERT = Alert(AlertEvent.CRITICAL_OPENED, "NX-2026-001", "特急", "生产部", "设备故障通知",
              "王维修 <wang.weixiu@corp.example>", "2026-11-23 14:00", mention=MENTION)


def test_an_alert_names_id_urgency_department_title_owner_and_deadline():
    text = alert_text(ALERT)
    assert text.splitlines()[0] == "【特急事项】NX-2026-001 特急"
    for part in ("生产部", "设备故障通知", "王维修 <wang.weixiu@corp.example>", "2026-11-23 14:00"):
        assert part in text


@pytest.mark.parametrize(("kind", "expected"), [
    (RobotKind.WECOM, {"msgtype": "text", "text": {
        "content": alert_text(ALERT), "mentioned_mobile_list": ["13800138000"]}}),
    (RobotKind.DINGTALK, {"msgtype": "text", "text": {"content": alert_text(ALERT) +
                                                      "\n@13800138000"},
                          "at": {"atMobiles": ["13800138000"], "isAtAll": False}}),
    (RobotKind.FEISHU, {"msg_type": "text", "content": {"text": alert_text(ALERT) +
                        '\n<at user_id="ou_7d8a6e6df7621556ce0d21922b676706ccs">王维修</at>'}}),
])
def test_each_robot_gets_its_documented_text_shape_with_the_owner_mentioned(kind, expected):
    assert alert_body(kind, ALERT) == expected


@pytest.mark.parametrize("kind", list(RobotKind))
def test_without_a_mobile_nobody_is_mentioned(kind):
    alert = replace(ALERT, mention=None)
    body = alert_body(kind, alert)
    assert ROBOTS[kind.value]().text_of(body) == alert_text(alert)
    assert "@1" not in str(body) and "<at" not in str(body)
    assert "mentioned_mobile_list" not in str(body)
    if kind is RobotKind.DINGTALK:
        assert body["at"] == {"atMobiles": [], "isAtAll": False}


@pytest.mark.parametrize("kind", list(RobotKind))
def test_the_local_robot_accepts_each_body(kind):
    robot = ROBOTS[kind.value]()

    status, answer = robot.handle(robot.webhook_path(), "application/json",
                                  json.dumps(alert_body(kind, ALERT)).encode())
    assert status == 200 and answer == robot.ok()


words = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E00 + 500), min_size=2,
                max_size=30)


@given(title=words, department=words, owner=words, kind=st.sampled_from(list(RobotKind)))
def test_a_classified_alert_names_only_the_id_and_urgency(title, department, owner, kind):
    alert = Alert(AlertEvent.ESCALATION, "NJ-2026-007", "紧急", department, title, owner,
                  "2026-11-24 09:00", classified=True, detail="首次反馈超时升级", mention=MENTION)
    body = str(alert_body(kind, alert))
    assert "NJ-2026-007" in body and "紧急" in body and CLASSIFIED_NOTE in body
    for secret in (title, department, owner, "首次反馈", "13800138000", "ou_7d8a", "2026-11-24"):
        assert secret not in body


def test_a_long_title_is_shortened_to_fit_wecoms_2048_bytes():
    text = alert_text(replace(ALERT, title="长" * 3000))
    assert len(text.encode()) < 2048 and "…" in text


def test_a_name_with_markup_cannot_break_the_feishu_at_tag():
    body = alert_body(RobotKind.FEISHU, Alert(
        AlertEvent.BREACH, "NX-2026-002", "普通", None, "t", "", "",
        mention=Mention('<b>"x"</b>', None, "ou_1")))
    assert '<at user_id="ou_1">&lt;b&gt;&quot;x&quot;&lt;/b&gt;</at>' in body["content"]["text"]
