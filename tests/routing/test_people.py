"""[[person]] tables in departments.toml: mobiles and Feishu ids for the chat robots' @."""

from __future__ import annotations

import pytest
from rulefiles import SHIPPED, copy_rules

from gateway.errors import RuleError
from gateway.routing.directory import Person
from gateway.routing.load import load_rules


def with_people(tmp_path, text: str):
    departments = (SHIPPED / "departments.toml").read_text("utf-8") + "\n" + text
    return copy_rules(tmp_path, departments=departments)


def test_people_are_found_by_address_case_insensitively(tmp_path):
    rules = load_rules(with_people(tmp_path, """
[[person]]
address = "王维修 <Wang.Weixiu@corp.example>"
mobile = "138 0013 8001"
feishu_id = "ou_abc"

[[person]]
address = "li.qiang@corp.example"
mobile = "+86-13800138002"
"""))
    directory = rules.directory
    assert directory.person("WANG.WEIXIU@corp.example") == Person(
        "wang.weixiu@corp.example", "13800138001", "ou_abc")
    assert directory.person("li.qiang@corp.example").feishu_id is None
    assert directory.person("nobody@corp.example") is None
    assert directory.person(None) is None


def test_the_shipped_directory_has_no_people_and_still_loads():
    assert load_rules(SHIPPED).directory.people == ()


@pytest.mark.parametrize(("text", "message"), [
    ('[[person]]\naddress = "a@corp.example"\nmobile = "call me"', "not a mobile number"),
    ('[[person]]\nmobile = "13800138000"', "missing key 'address'"),
    ('[[person]]\naddress = "a@corp.example"\nwechat = "x"', "wechat"),
    ('[[person]]\naddress = "a@corp.example"\n[[person]]\naddress = "A@corp.example"',
     "listed twice"),
])
def test_a_bad_person_is_a_problem_at_its_line(tmp_path, text, message):
    with pytest.raises(RuleError) as caught:
        load_rules(with_people(tmp_path, text))
    found = [str(p) for p in caught.value.problems]
    assert any(message in p and "departments.toml:" in p for p in found), found
