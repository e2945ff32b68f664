"""Department words as people write them, matched against the shipped directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paths import ROOT

from gateway.mail.subject import parse_subject
from gateway.routing.department_words import GENERIC_SUFFIXES, simplified, stem
from gateway.routing.directory import (
    department_of_sender,
    organisation_of,
    same_organisation,
)
from gateway.routing.load import load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules(Path(ROOT / "rules"))


@pytest.mark.parametrize(("word", "department"), [
    ("客服部", "客服中心"), ("客服", "客服中心"), ("財務處", "财务部"), ("财务处", "财务部"),
    ("行政部门", "行政部"), ("行政部門", "行政部"), ("生產車間", "生产部"), ("质检科", "质量部"),
    ("人事處", "人力资源部"), ("IT组", "信息中心"), ("ＩＴ部", "信息中心"), ("采购室", "采购部"),
    ("物流部", None), ("宣传处", None), ("部", None), ("", None),
])
def test_department_words_match_up_to_suffixes_and_traditional_forms(rules, word, department):
    found = rules.directory.match(word)
    assert (found.name if found else None) == department


def test_rule_files_still_need_exact_names(rules):
    assert rules.directory.find("客服部") is None and rules.directory.find("客服") is not None


@pytest.mark.parametrize(("subject", "word"), [
    ("【緊急】財務處-對賬單", "財務處"), ("行政部门-访客登记", "行政部门"), ("客服-退货", "客服"),
    ("物流部-发货", "物流部"),
])
def test_subjects_name_departments_as_people_write_them(rules, subject, word):
    assert parse_subject(subject, rules.directory.words).department == word


@given(st.text(alphabet="客服财务行政生产采购质量", min_size=1, max_size=4),
       st.sampled_from(GENERIC_SUFFIXES))
def test_a_generic_suffix_never_changes_the_stem(base, suffix):
    assert stem(base + suffix) == stem(base) == base


def test_simplified_folds_width_and_case():
    assert simplified("ＱＡ") == "qa" and simplified("質量") == "质量"


def test_the_senders_department_and_organisation(rules):
    directory, parties = rules.directory, rules.parties
    assert department_of_sender(directory, "li.qiang@corp.example").name == "生产部"  # head
    assert department_of_sender(directory, "wang.gong@corp.example").name == "生产部"  # member
    assert department_of_sender(directory, "finance@corp.example").name == "财务部"  # mailbox
    assert department_of_sender(directory, "x@corp.example") is None
    assert organisation_of("a@mail.customer.example", parties) == "客户A公司"
    assert organisation_of("a@elsewhere.example", parties) == "elsewhere.example"
    assert same_organisation("a@customer.example", "b@mail.customer.example", parties) == "客户A公司"
    assert same_organisation("a@qq.com", "b@qq.com", parties) is None
