"""A gateway with [[im.channel]] robots on 127.0.0.1, and a directory that knows mobiles."""

from __future__ import annotations

from pathlib import Path

from rulefiles import SHIPPED, copy_rules

OWNER_MOBILE = "13800138001"  # 王维修, who owns equipment faults in the shipped rules
HEAD_MOBILE = "13800138002"  # 李强, head of 生产部
OWNER_FEISHU = "ou_wangweixiu0001"
PEOPLE = f"""
[[person]]
address = "wang.weixiu@corp.example"
mobile = "{OWNER_MOBILE}"
feishu_id = "{OWNER_FEISHU}"

[[person]]
address = "li.qiang@corp.example"
mobile = "{HEAD_MOBILE}"
"""
SECRETS = {"dingtalk": "SEC-dingtalk-test-secret", "feishu": "feishu-test-secret"}


def rules_with_people(tmp_path: Path) -> Path:
    departments = (SHIPPED / "departments.toml").read_text("utf-8") + PEOPLE
    return copy_rules(tmp_path, departments=departments)


def channel(robot, name: str | None = None, *, events=("critical_opened", "escalation", "breach"),
            departments=None, secret_env: str | None = None) -> dict:
    """The [[im.channel]] table for a local robot; dingtalk and feishu signed by default."""
    table = {"name": name or f"{robot.kind}-群", "kind": robot.kind, "webhook": robot.url,
             "events": list(events)}
    if robot.kind != "wecom":
        table["secret_env"] = secret_env or f"TEST_{robot.kind.upper()}_SECRET"
    if departments is not None:
        table["departments"] = list(departments)
    return table
