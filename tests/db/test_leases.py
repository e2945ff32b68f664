"""Leases and once-per-period claims between nodes, on each backend."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.db import leases, nodes
from gateway.db.engine import make_engine, upgrade
from gateway.db.sessions import Sessions


@pytest.fixture
def sessions(storage_url):
    engine = make_engine(storage_url)
    upgrade(engine)
    yield Sessions(engine)
    engine.dispose()


def take(sessions, name: str, node: str, ttl: float = 30.0) -> bool:
    with sessions.begin() as session:
        return leases.acquire(session, name, node, ttl)


def holders(sessions) -> dict[str, tuple[str | None, object]]:
    with sessions() as session:
        _, rows = leases.holdings(session)
    return {row.name: (row.holder, row.since) for row in rows}


def test_a_lease_is_held_by_one_node_and_renewed_without_changing_since(sessions):
    assert take(sessions, "outbox", "a:1")
    since = holders(sessions)["outbox"][1]
    assert not take(sessions, "outbox", "b:2")
    assert take(sessions, "outbox", "a:1")
    assert holders(sessions)["outbox"] == ("a:1", since)


def test_a_lease_run_out_is_taken_by_another_node(sessions):
    assert take(sessions, "scheduler", "a:1", ttl=1.5)
    assert not take(sessions, "scheduler", "b:2")
    time.sleep(1.6)
    assert take(sessions, "scheduler", "b:2")
    assert not take(sessions, "scheduler", "a:1")  # the old holder finds it gone
    assert holders(sessions)["scheduler"][0] == "b:2"


def test_a_released_lease_is_taken_at_once(sessions):
    assert take(sessions, "mailbox:x", "a:1")
    with sessions.begin() as session:
        leases.release(session, ["mailbox:x"], "a:1")
    assert holders(sessions)["mailbox:x"][0] is None
    assert take(sessions, "mailbox:x", "b:2")


def test_release_gives_back_only_what_the_node_holds(sessions):
    assert take(sessions, "outbox", "a:1")
    with sessions.begin() as session:
        leases.release(session, ["outbox"], "b:2")
    assert not take(sessions, "outbox", "b:2")


def test_of_many_nodes_reaching_at_once_exactly_one_gets_the_lease(sessions):
    assert take(sessions, "outbox", "old:0", ttl=0.1)
    time.sleep(0.2)  # run out: every node below may take it, one does
    winners: list[str] = []
    start = threading.Barrier(6)

    def reach(node: str) -> None:
        start.wait()
        for _ in range(20):
            try:
                if take(sessions, "outbox", node):
                    winners.append(node)
                return
            except Exception:  # noqa: BLE001 - SQLite's lock may be busy; try again
                time.sleep(0.01)

    threads = [threading.Thread(target=reach, args=(f"n:{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert holders(sessions)["outbox"][0] == winners[0]


@pytest.mark.parametrize("first, later, again", [
    ("2026-11-29T10:00", "2026-11-29T10:01", True),
    ("2026-11-29T10:00", "2026-11-29T10:00", False),
    ("2026-11-29T10:01", "2026-11-29T10:00", False),  # an older period never runs again
    ("2026-11-29T09:59", "2026-11-30T00:00", True),
])
def test_a_job_is_claimed_once_per_period(sessions, first, later, again):
    with sessions.begin() as session:
        assert leases.claim_period(session, "minutely", first, "a:1")
    with sessions.begin() as session:
        assert leases.claim_period(session, "minutely", later, "b:2") is again
    with sessions.begin() as session:
        assert leases.claim_period(session, "close_waiting", first, "b:2")


def test_the_registry_keeps_a_row_per_node_until_it_leaves(sessions):
    from datetime import UTC, datetime

    started = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    for _ in range(2):
        with sessions.begin() as session:
            nodes.heartbeat(session, "a:1", "a", 1, started)
    with sessions.begin() as session:
        nodes.heartbeat(session, "b:2", "b", 2, started)
    url = sessions._maker.kw["bind"].url.render_as_string(hide_password=False)
    _, seen, _ = nodes.cluster_state(url, 5)
    assert [n.id for n in seen] == ["a:1", "b:2"]
    with sessions.begin() as session:
        nodes.leave(session, "a:1")
    _, seen, _ = nodes.cluster_state(url, 5)
    assert [n.id for n in seen] == ["b:2"]
