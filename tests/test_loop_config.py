"""The loop's settings: validated once at load, with the key named when wrong."""

from __future__ import annotations

import pytest

from gateway.config import load_settings
from gateway.deadlines.duration import Duration, Unit
from gateway.errors import ConfigError
from gateway.usecases.services import ClosedLoopPolicy


def test_defaults_wait_five_working_days_and_read_no_authentication_results():
    policy = ClosedLoopPolicy.from_settings(load_settings(None))
    assert policy.close_after == Duration(5, Unit.WORKING_DAYS)
    assert (policy.note_tag, policy.trusted_authserv_id) == ("note", None)


def test_settings_reach_the_policy():
    settings = load_settings(None, overrides={
        "loop": {"close_after": "3个工作日", "note_tag": "Internal"},
        "gateway": {"trusted_authserv_id": "mx.corp.example"},
    })
    policy = ClosedLoopPolicy.from_settings(settings)
    assert policy.close_after == Duration(3, Unit.WORKING_DAYS)
    assert (policy.note_tag, policy.trusted_authserv_id) == ("internal", "mx.corp.example")


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"close_after": "soon"}, "loop.close_after"),
        ({"note_tag": "not a tag"}, "loop.note_tag"),
        ({"close_afer": "5 working days"}, "loop.close_afer"),
    ],
)
def test_a_wrong_loop_setting_names_its_key(values, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(None, overrides={"loop": values})
