"""Periodic jobs of the daemon: rule reload, archiving, purging, report mail, metrics."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import schedule

from gateway.outgoing.mime import AttachedFile
from gateway.reports import evaluation_file, metrics
from gateway.reports.evaluation import Period, period_containing
from gateway.runtime.reload import Watcher
from gateway.usecases import archiving, reporting, system_mail

if TYPE_CHECKING:
    from gateway.runtime.assembly import Gateway

log = logging.getLogger(__name__)

REPORT_TYPES = {"html": "text/html", "xlsx":
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def period_of(now: datetime, minutes: int) -> str:
    """The period of `minutes` that `now` falls in, as an ISO time that sorts (UTC)."""
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    return start.replace(minute=start.minute - start.minute % minutes).strftime("%Y-%m-%dT%H:%M")


class Jobs:
    def __init__(self, gateway: Gateway, wake: Callable[[], None] = lambda: None,
                 claim: Callable[[str, str], bool] = lambda job, period: True):
        self.gateway = gateway
        self.wake = wake  # tells the outbox sender that mail waits
        # Whether this node runs a job for a period: always alone; with several nodes only
        # the holder of the jobs' lease, once per period (runtime/cluster.py).
        self.claim = claim
        self.settings = gateway.settings
        g = self.settings.gateway
        self.watcher = Watcher(g.rules_dir, g.templates_dir, gateway.services.renderer,
                               gateway.install_rules, self._rules_broken)
        self.rejected_rule_sets = 0
        self._purged_on: date | None = None

    def install(self, scheduler: schedule.Scheduler) -> None:
        now = self.gateway.clock()
        self.watcher.check(now)  # the baseline; templates become a snapshot
        _guarded("metrics", self.write_metrics)(now)  # a textfile from the first minute on
        if self.settings.reload.enabled:
            scheduler.every(self.settings.reload.interval).seconds.do(
                _guarded("reload", self.reload))
        scheduler.every(1).minutes.do(_guarded("minutely", self._claimed(1, self.minutely)))
        scheduler.every(10).minutes.do(_guarded("close", self._claimed(10, self.close_waiting)))

    def _claimed(self, minutes: int, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if self.claim(job.__name__, period_of(self.gateway.clock(), minutes)):
                job()
        return run

    def reload(self) -> None:
        self.watcher.check(self.gateway.clock())

    def minutely(self) -> None:
        now = self.gateway.clock()
        for name, job in (("chase", self.chase), ("archive", self.archive),
                          ("purge", self.purge_if_due),
                          ("reports", self.reports), ("metrics", self.write_metrics)):
            _guarded(name, job)(now)

    # --- jobs --------------------------------------------------------------------------------

    def chase(self, now: datetime) -> None:
        """Reminders, escalations and follow-ups due now (usecases/chasing.py)."""
        result = self.gateway.chase()
        if result.sent:
            log.info("deadline check: %d notice(s) queued", len(result.sent))
            self.wake()

    def close_waiting(self) -> None:
        """Close resolved records whose wait for a rating is over (usecases/reply.py)."""
        self.gateway.close_waiting()

    def archive(self, now: datetime) -> list[str]:
        a = self.settings.archive
        with self.gateway.sessions.begin() as session:
            done = archiving.archive_due(session, now, self.gateway.calendar, a.delay,
                                         a.default_class)
        if done:
            log.info("archived %d record(s): %s", len(done), ", ".join(done))
        return done

    def purge_if_due(self, now: datetime) -> None:
        local = now.astimezone(self.settings.tz)
        if local.time() < self.settings.archive.purge_at or self._purged_on == local.date():
            return
        with self.gateway.sessions.begin() as session:
            purged = archiving.purge(session, now, self.settings.archive.retention_years,
                                     dry_run=False)
        self._purged_on = local.date()
        if purged:
            log.info("purged %d expired record(s): %s", len(purged),
                     ", ".join(p.record_id for p in purged))

    def reports(self, now: datetime) -> list[str]:
        r = self.settings.reports
        if not r.recipients:
            return []
        local = now.astimezone(self.settings.tz)
        sent = []
        for kind in r.schedule:
            period = period_containing(kind, local.date()).previous()
            if local < datetime.combine(period.end, r.send_at, self.settings.tz):
                continue
            if self._mail_report(period, now):
                sent.append(period.label)
        return sent

    def _mail_report(self, period: Period, now: datetime) -> bool:
        services, r = self.gateway.services, self.settings.reports
        with self.gateway.sessions.begin() as session:
            if system_mail.queued_before(session, services.identity, system_mail.REPORT_KIND,
                                         period.label):
                return False
            evaluation = reporting.evaluation(session, period, self.gateway.calendar, now)
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"report-{period.label}.{r.format}"
                evaluation_file.write(evaluation, r.format, path, self.settings.gateway.templates_dir,
                                      self.settings.tz)
                data = path.read_bytes()
            overall = evaluation.overall
            system_mail.mail_report(
                session, services, label=period.label, to=r.recipients, now=now,
                figures={"opened": overall.opened, "closed": overall.closed,
                         "breaches": overall.breaches},
                report=AttachedFile(path.name, REPORT_TYPES[r.format], data))
        self.wake()
        return True

    def write_metrics(self, now: datetime) -> None:
        target = self.settings.metrics.textfile
        if target is None:
            return
        with self.gateway.sessions() as session:
            values = reporting.metric_values(session, now, self.rejected_rule_sets)
        metrics.write_textfile(target, metrics.render(values))

    def _rules_broken(self, digest: str, problems: list[str], now: datetime) -> None:
        self.rejected_rule_sets += 1
        with self.gateway.sessions.begin() as session:
            queued = system_mail.tell_admin_of_broken_rules(session, self.gateway.services,
                                                            digest, problems, now)
        if queued:
            self.wake()


def _guarded(name: str, job: Callable[..., object]) -> Callable[..., None]:
    """A failing job is logged and tried again next time; it never stops the mail loop."""
    def run(*args: object) -> None:
        try:
            job(*args)
        except Exception:  # noqa: BLE001 - one job's failure must not end the daemon
            log.exception("scheduled job %s failed", name)
    return run
