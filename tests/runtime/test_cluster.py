"""Leases kept by nodes in one process each: periodic jobs once per period, takeover."""

from __future__ import annotations

import time

import pytest
import schedule

from gateway.config import DatabaseSettings
from gateway.runtime.assembly import Gateway
from gateway.runtime.cluster import SCHEDULER, Alone, LeaseKeeper
from gateway.runtime.scheduler import Jobs, period_of

pytestmark = pytest.mark.integration


class Node:
    """A gateway with its jobs on a scheduler, and a lease keeper ticked by hand."""

    def __init__(self, settings, clock, url: str, name: str, ttl: float = 30.0):
        self.gateway = Gateway(settings.model_copy(
            update={"database": DatabaseSettings(url=url)}), clock=clock)
        self.keeper = LeaseKeeper(url, name, [SCHEDULER], heartbeat=True, ttl=ttl, safety=0.1)
        self.jobs = Jobs(self.gateway, claim=self.keeper.claim)
        self.runs: list[str] = []
        real = self.jobs.minutely

        def minutely() -> None:
            self.runs.append(period_of(clock(), 1))
            real()

        self.jobs.minutely = minutely  # the real jobs, counted
        self.scheduler = schedule.Scheduler()
        self.jobs.install(self.scheduler)

    def close(self) -> None:
        self.keeper.stop()
        self.gateway.close()


@pytest.fixture
def two_nodes(settings, clock, pg_storage_url):
    nodes = [Node(settings, clock, pg_storage_url, name, ttl=3.0) for name in ("a:1", "b:2")]
    yield nodes
    for node in nodes:
        node.close()


def test_two_schedulers_run_the_jobs_once_per_period(two_nodes, clock):
    a, b = two_nodes
    for minute in range(5):
        for node in (a, b, b, a):  # each looks twice a minute; both try every period
            node.keeper.tick()
            node.scheduler.run_all()
        clock.advance(minutes=1)
    runs = a.runs + b.runs
    assert len(runs) == len(set(runs)) == 5
    assert not (a.runs and b.runs)  # one holder all along: nobody died


def test_the_other_scheduler_takes_over_when_the_holder_stops_renewing(two_nodes, clock):
    a, b = two_nodes
    a.keeper.tick()
    b.keeper.tick()
    assert a.keeper.holds(SCHEDULER) and not b.keeper.holds(SCHEDULER)
    a.scheduler.run_all()
    b.scheduler.run_all()
    assert (len(a.runs), len(b.runs)) == (1, 0)
    # a dies: no more renewals. b takes the lease once it has run out, not before.
    time.sleep(3.2)
    assert not a.keeper.holds(SCHEDULER)
    b.keeper.tick()
    assert b.keeper.holds(SCHEDULER)
    b.scheduler.run_all()  # the same minute: it ran already on a
    assert len(b.runs) == 0
    clock.advance(minutes=1)
    b.scheduler.run_all()
    a.scheduler.run_all()
    assert (len(a.runs), len(b.runs)) == (1, 1)


def test_alone_on_sqlite_a_node_holds_everything():
    alone = Alone("solo:1")
    assert alone.holds("outbox") and alone.claim("minutely", "2026-11-29T10:00")


@pytest.mark.parametrize("at, minutes, period", [
    ("2026-11-29T10:07:59+00:00", 1, "2026-11-29T10:07"),
    ("2026-11-29T10:07:59+00:00", 10, "2026-11-29T10:00"),
    ("2026-11-29T18:07:00+08:00", 10, "2026-11-29T10:00"),
])
def test_periods_are_utc_minutes_that_sort(at, minutes, period):
    from datetime import datetime

    assert period_of(datetime.fromisoformat(at), minutes) == period


def test_a_node_cut_from_the_database_stops_before_another_takes_over(pg_storage_url):
    from proxy import CuttingProxy
    from sqlalchemy.engine import make_url

    from gateway.db.engine import make_engine, upgrade

    upgrade(make_engine(pg_storage_url))
    direct = make_url(pg_storage_url)
    proxy = CuttingProxy(direct.port or 5432)
    cut_off = direct.set(port=proxy.port).render_as_string(hide_password=False)
    a = LeaseKeeper(cut_off, "a:1", [SCHEDULER], heartbeat=True, ttl=3.0, every=0.3, safety=1.0)
    b = LeaseKeeper(pg_storage_url, "b:2", [SCHEDULER], heartbeat=True, ttl=3.0, every=0.3,
                    safety=1.0)
    try:
        a.start()
        b.start()
        assert a.holds(SCHEDULER) and not b.holds(SCHEDULER)
        proxy.cut_all()
        cut = time.monotonic()
        stopped = taken = None
        while time.monotonic() - cut < 10 and taken is None:
            if stopped is None and not a.holds(SCHEDULER):
                stopped = time.monotonic() - cut
            if b.holds(SCHEDULER):
                taken = time.monotonic() - cut
                assert not a.holds(SCHEDULER)  # never both at once
            time.sleep(0.02)
        assert stopped is not None and taken is not None and stopped < taken <= 3.0 + 0.3 + 1
    finally:
        a.stop()
        b.stop()
