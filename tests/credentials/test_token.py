"""The pure token rules: endpoint and command answers, refresh time, scrubbing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.credentials.token import (
    REFRESH_MARGIN,
    UNKNOWN_LIFETIME,
    AccessToken,
    scrub,
    token_from_answer,
    token_from_output,
    xoauth2_forms,
)


@pytest.mark.parametrize("answer, lifetime", [
    ({"access_token": "abc", "token_type": "Bearer", "expires_in": 3599}, 3599),
    ({"access_token": "abc", "token_type": "bearer", "expires_in": "3599"}, 3599),  # Entra v1
    ({"access_token": "abc", "expires_in": 60}, 60),  # token_type left out
    ({"access_token": "abc"}, UNKNOWN_LIFETIME),
])
def test_endpoint_answers_that_give_a_token(answer, lifetime):
    token = token_from_answer(answer, now=100.0)
    assert token.value == "abc" and token.lifetime == lifetime
    assert token.expires_at == 100.0 + lifetime


@pytest.mark.parametrize("answer, message", [
    ({}, "no access_token"),
    ({"access_token": "  "}, "no access_token"),
    ({"access_token": "abc", "token_type": "mac"}, "not Bearer"),
    ({"access_token": "abc", "expires_in": "soon"}, "not a number"),
    ({"access_token": "abc", "expires_in": 0}, "expired already"),
])
def test_endpoint_answers_that_are_refused(answer, message):
    with pytest.raises(ValueError, match=message):
        token_from_answer(answer, now=0.0)


@pytest.mark.parametrize("output, value, lifetime", [
    ("ya29.a0Af\n", "ya29.a0Af", UNKNOWN_LIFETIME),
    ('{"access_token": "eyJ0", "expires_in": 300}', "eyJ0", 300),
])
def test_command_output(output, value, lifetime):
    token = token_from_output(output, now=0.0)
    assert (token.value, token.lifetime) == (value, lifetime)


@pytest.mark.parametrize("output", ["", "two\nlines", "has space", "{not json"])
def test_command_output_that_is_no_token(output):
    with pytest.raises(ValueError):
        token_from_output(output, now=0.0)


@pytest.mark.parametrize("lifetime, refresh_after", [
    (3600, 3600 - REFRESH_MARGIN),  # long-lived: REFRESH_MARGIN before expiry
    (120, 60),  # short-lived: halfway
    (2, 1),
])
def test_refresh_is_due_before_expiry(lifetime, refresh_after):
    token = AccessToken("t", 10.0 + lifetime, lifetime)
    assert token.fresh(10.0 + refresh_after - 0.01)
    assert not token.fresh(10.0 + refresh_after)


def test_the_repr_hides_the_token():
    assert "secret-token" not in repr(AccessToken("secret-token", 1.0, 1.0))


@given(user=st.emails(), token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126),
                                       min_size=8, max_size=80))
def test_scrub_masks_the_token_and_the_sasl_string_that_carries_it(user, token):
    sasl = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
    text = f"server said: {sasl} / {token}"
    cleaned = scrub(text, xoauth2_forms(user, token))
    assert token not in cleaned and sasl not in cleaned
