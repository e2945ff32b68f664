"""The pure decisions of the loop: lifecycle transitions, ratings, and who counts as staff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.closedloop.lifecycle import TABLE, Action, Event, status_event, transition
from gateway.closedloop.rating import parse_rating
from gateway.closedloop.trust import Role, assess, auth_results_headers, parse_auth_results
from gateway.model import Status
from gateway.vocabulary import STATUS_WORDS

S, E, A = Status, Event, Action

# --- lifecycle --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "event", "after", "actions"),
    [
        (S.OPEN, E.START, S.IN_PROGRESS, ()),
        (S.OPEN, E.REPLIED, S.IN_PROGRESS, (A.STAMP_FIRST_RESPONSE,)),
        (S.IN_PROGRESS, E.RESOLVE, S.RESOLVED,
         (A.STAMP_FIRST_RESPONSE, A.STAMP_RESOLVED, A.SEND_CLOSURE_RECEIPT)),
        (S.RESOLVED, E.RATED, S.CLOSED, (A.STAMP_CLOSED,)),
        (S.RESOLVED, E.RATED_LOW, S.IN_PROGRESS, (A.CLEAR_RESOLUTION_TIMES, A.NOTIFY_HEAD)),
        (S.CLOSED, E.RATED, S.CLOSED, ()),
        (S.CLOSED, E.RATED_LOW, S.IN_PROGRESS, (A.CLEAR_RESOLUTION_TIMES, A.NOTIFY_HEAD)),
        (S.RESOLVED, E.WAIT_ELAPSED, S.CLOSED, (A.STAMP_CLOSED,)),
        (S.CLOSED, E.START, S.IN_PROGRESS, (A.CLEAR_RESOLUTION_TIMES,)),
        (S.OPEN, E.CLOSE, S.CLOSED, (A.STAMP_CLOSED,)),
    ],
)
def test_transitions_follow_the_loop(state, event, after, actions):
    step = transition(state, event)
    assert step.allowed and (step.after, step.actions) == (after, actions)
    assert step.reason


@pytest.mark.parametrize(
    ("state", "event"),
    [(S.OPEN, E.RATED), (S.IN_PROGRESS, E.RATED_LOW), (S.RESOLVED, E.RESOLVE),
     (S.CLOSED, E.RESOLVE), (S.CLOSED, E.CLOSE), (S.IN_PROGRESS, E.WAIT_ELAPSED)],
)
def test_refused_transitions_keep_the_state_and_say_why(state, event):
    step = transition(state, event)
    assert not step.allowed and step.after is state and step.actions == () and step.reason


@given(st.sampled_from(list(Status)), st.lists(st.sampled_from(list(Event)), max_size=12))
def test_any_event_sequence_stays_in_known_states(state, events):
    for event in events:
        step = transition(state, event)
        assert step.after in Status
        if step.after is S.CLOSED and step.changed:
            assert A.STAMP_CLOSED in step.actions
        if step.after is S.RESOLVED and step.changed:
            assert A.SEND_CLOSURE_RECEIPT in step.actions
        state = step.after


def test_only_resolution_sends_a_closure_receipt():
    senders = {key for key, (_, actions, _) in TABLE.items() if A.SEND_CLOSURE_RECEIPT in actions}
    assert {event for _, event in senders} == {E.RESOLVE}


@pytest.mark.parametrize("target", sorted(set(STATUS_WORDS.values())))
def test_every_status_word_maps_to_an_event(target):
    assert status_event(target) in Event


# --- rating -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("5", 5, ""),
        ("5分", 5, ""),
        ("4分 谢谢", 4, "谢谢"),
        ("４分，谢谢！", 4, "谢谢"),
        ("★★★★☆", 4, ""),
        ("★★☆☆☆ 太慢了", 2, "太慢了"),
        ("非常满意", 5, ""),
        ("满意", 4, ""),
        ("一般，下次快点", 3, "下次快点"),
        ("不满意，修了两次", 2, "修了两次"),
        ("非常不满意", 1, ""),
        ("3/5 还行吧", 3, "还行吧"),
        ("评分：4", 4, ""),
        ("Very satisfied, thanks", 5, "thanks"),
        ("谢谢\n5分", 5, "谢谢"),
    ],
)
def test_ratings_are_read_as_people_write_them(text, score, comment):
    rating = parse_rating(text)
    assert rating is not None
    assert (rating.score, rating.comment) == (score, comment)


@pytest.mark.parametrize("text", ["3号线又坏了", "2026年11月的事", "10分", "0", "谢谢", "",
                                  "第一行\n第二行\n第三行\n5分"])
def test_text_without_a_rating_gives_none(text):
    assert parse_rating(text) is None


@given(st.integers(1, 5), st.text(alphabet="谢好的快慢 ,。", max_size=20))
def test_a_leading_score_is_always_read(score, comment):
    rating = parse_rating(f"{score}分 {comment}")
    assert rating is not None and rating.score == score
    assert rating.low is (score <= 2)


@given(st.text(max_size=120))
def test_ratings_are_always_between_one_and_five(text):
    rating = parse_rating(text)
    assert rating is None or 1 <= rating.score <= 5


# --- trust ------------------------------------------------------------------------------------

MX = "mx.corp.example"


@pytest.mark.parametrize(
    ("listed", "header", "trusted", "role", "suspicious"),
    [
        (True, None, None, Role.STAFF, False),
        (True, f"{MX}; dkim=pass; spf=pass; dmarc=pass", MX, Role.STAFF, False),
        (True, f"{MX}; spf=fail smtp.mailfrom=corp.example; dmarc=fail", MX, Role.EXTERNAL, True),
        (True, f"{MX} 1; dkim=fail (bad signature) header.d=corp.example", MX, Role.EXTERNAL, True),
        (True, f"{MX}; spf=softfail", MX, Role.STAFF, False),
        (True, "evil.example; dkim=pass; dmarc=pass", MX, Role.STAFF, False),
        (True, f"{MX}; dmarc=fail", None, Role.STAFF, False),  # not configured: not read
        (False, f"{MX}; dkim=pass; dmarc=pass", MX, Role.EXTERNAL, False),
        (True, "MX.CORP.EXAMPLE; DMARC=FAIL", MX, Role.EXTERNAL, True),
    ],
)
def test_who_counts_as_staff(listed, header, trusted, role, suspicious):
    verdict = assess("li@corp.example", listed_internal=listed,
                     auth_results=[header] if header else [], trusted_authserv_id=trusted)
    assert (verdict.role, verdict.suspicious) == (role, suspicious)
    assert verdict.reason


def test_auth_results_comments_do_not_fake_a_result():
    parsed = parse_auth_results(f"{MX}; spf=pass (dmarc=fail in a comment) smtp.mailfrom=x")
    assert parsed is not None and parsed.failed() == ()


@given(st.text(max_size=200))
def test_any_header_value_parses_or_is_refused_without_error(value):
    parsed = parse_auth_results(value)
    assert parsed is None or isinstance(parsed.failed(), tuple)


def test_a_failing_trusted_result_below_a_passing_one_still_counts():
    raw = (f"Authentication-Results: {MX}; dkim=pass; dmarc=pass\r\n"
           "Authentication-Results: relay.example; dkim=pass\r\n"
           f"Authentication-Results: {MX};\r\n spf=fail smtp.mailfrom=corp.example\r\n"
           "From: li@corp.example\r\n\r\nbody\r\n").encode()
    headers = auth_results_headers(raw)
    assert len(headers) == 3
    verdict = assess("li@corp.example", listed_internal=True, auth_results=headers,
                     trusted_authserv_id=MX)
    assert verdict.suspicious and "spf=fail" in verdict.reason
