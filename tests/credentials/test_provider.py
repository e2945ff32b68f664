"""The token cache: one fetch while fresh, a new one when due or refused, errors passed on."""

from __future__ import annotations

import threading

import pytest

from gateway.credentials.provider import TokenProvider
from gateway.credentials.token import AccessToken
from gateway.errors import TokenError


class Grant:
    """Issues tok-1, tok-2… of `lifetime` seconds on the test's clock, or fails when told."""

    name = "client credentials"

    def __init__(self, clock, lifetime=100.0):
        self.clock, self.lifetime, self.calls, self.fail = clock, lifetime, 0, None

    def __call__(self) -> AccessToken:
        if self.fail:
            raise TokenError(self.fail)
        self.calls += 1
        return AccessToken(f"tok-{self.calls}", self.clock() + self.lifetime, self.lifetime)


@pytest.fixture
def now():
    return [0.0]


@pytest.fixture
def grant(now):
    return Grant(lambda: now[0])


@pytest.fixture
def provider(grant, now):
    return TokenProvider("smtp", "box@corp.example", grant, clock=lambda: now[0])


def test_the_token_is_cached_until_it_is_due(provider, grant, now):
    assert [provider.token() for _ in range(5)] == ["tok-1"] * 5
    now[0] = 49.9
    assert provider.token() == "tok-1"
    now[0] = 50.0  # halfway through a 100 s token
    assert provider.token() == "tok-2" and grant.calls == 2


def test_a_refused_token_is_replaced_but_a_newer_one_is_kept(provider, grant):
    first = provider.token()
    provider.refused(first)
    second = provider.token()
    assert second == "tok-2"
    provider.refused(first)  # another connection reports the old one late
    assert provider.token() == second and grant.calls == 2


def test_a_failed_refresh_is_the_grants_error_and_the_next_call_tries_again(
        provider, grant, now):
    provider.token()
    now[0] = 60.0
    grant.fail = "smtp.token_url: cannot reach the token endpoint"
    with pytest.raises(TokenError, match="^smtp.token_url"):
        provider.token()
    grant.fail = None
    assert provider.token() == "tok-2"


def test_seconds_left_counts_down_to_the_refresh(provider, now):
    assert provider.seconds_left() == 50.0
    now[0] = 20.0
    assert provider.seconds_left() == 30.0


def test_threads_share_one_fetch(provider, grant):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(provider.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen) == {"tok-1"} and grant.calls == 1
