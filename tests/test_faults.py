"""Fault injection: the GATEWAY_FAULTS grammar, validated at load, and a real os._exit."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.faults import FAULT_EXIT, FaultRule, parse_faults


@pytest.mark.parametrize("spec, rules", [
    ("", ()),
    ("after_commit:0.25", (FaultRule("after_commit", probability=0.25),)),
    ("after_move:3", (FaultRule("after_move", nth=3),)),
    (" after_fetch:1 , after_smtp_accept:0.5 ", (
        FaultRule("after_fetch", nth=1), FaultRule("after_smtp_accept", probability=0.5))),
])
def test_fault_specs_parse(spec, rules):
    assert parse_faults(spec) == rules


@pytest.mark.parametrize("spec, message", [
    ("after_lunch:1", "unknown fault point"),
    ("after_commit", "give a probability"),
    ("after_commit:0", "lies in (0, 1]"),
    ("after_commit:1.5", "lies in (0, 1]"),
    ("after_commit:often", "give a probability"),
])
def test_bad_fault_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_faults(spec)


def test_faults_come_from_the_environment_only(tmp_path, monkeypatch):
    config = tmp_path / "gateway.toml"
    config.write_text('faults = "after_commit:1"\n', encoding="utf-8")
    monkeypatch.delenv("GATEWAY_FAULTS", raising=False)
    assert load_settings(config).faults == ()
    monkeypatch.setenv("GATEWAY_FAULTS", "after_move:2")
    assert load_settings(config).faults == (FaultRule("after_move", nth=2),)
    monkeypatch.setenv("GATEWAY_FAULTS", "after_nothing:2")
    with pytest.raises(ConfigError, match="faults: unknown fault point"):
        load_settings(config)


def test_an_injected_fault_exits_at_once_on_the_nth_pass():
    program = (
        "from gateway.faults import FaultInjector, parse_faults\n"
        "crash = FaultInjector(parse_faults('after_commit:2'))\n"
        "crash('after_fetch'); crash('after_commit'); print('first pass', flush=True)\n"
        "try:\n    crash('after_commit')\nfinally:\n    print('finally ran')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == FAULT_EXIT
    assert done.stdout == "first pass\n"  # no finally, no cleanup: like SIGKILL
    assert "fault injected: after_commit (pass 2)" in done.stderr
