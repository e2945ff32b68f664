"""The assembled gateway: settings turned into services, a mail source and the outbox sender."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from functools import partial
from typing import TYPE_CHECKING

from gateway.alerts.channels import AlertEvent, Channel, RobotKind
from gateway.config import Settings
from gateway.db.engine import make_engine, upgrade
from gateway.db.sessions import Sessions
from gateway.db.writeturn import WriteTurn
from gateway.deadlines.chase import ChasePolicy
from gateway.faults import FaultInjector
from gateway.identity import Identity
from gateway.model import Address, FetchedMail, Urgency
from gateway.outgoing.autoreply import AutoReplyCap
from gateway.outgoing.render import Renderer
from gateway.routing.load import load_rules
from gateway.routing.ruleset import RuleSet
from gateway.runtime.readahead import ReadAhead
from gateway.runtime.workcalendar import make_calendar
from gateway.sources.base import Source
from gateway.usecases import chasing
from gateway.usecases.chasing import CheckResult
from gateway.usecases.ingest import parse_fetched, process, store_many
from gateway.usecases.reply import close_waiting
from gateway.usecases.services import ClosedLoopPolicy, OutboundPolicy, Result, Services

if TYPE_CHECKING:
    from gateway.outbox.sender import FlushResult, OutboxSender
    from gateway.runtime.alert_sender import AlertFlush, AlertSender

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Mails stored per transaction when a fetch brings many: large enough to spread the cost of a
# commit, small enough that a rare failed group is cheap to redo one by one.
COMMIT_GROUP = 50
COMPILED_TEMPLATES = "compiled-templates"  # under the storage directory: outgoing/compiled.py


def utc_now() -> datetime:
    return datetime.now(UTC)


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        faults: Callable[[str], None] | None = None,
        migrate: bool = True,
        rules: RuleSet | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.engine = make_engine(settings.database_url,
                                  busy_timeout=settings.database.busy_timeout)
        if migrate:
            upgrade(self.engine)
        self.sessions = Sessions(self.engine)
        # A process forked from a running daemon takes the rules in force there: the files may
        # be broken at this moment, and the daemon keeps the last good set until they are not.
        self._rules = rules if rules is not None else load_rules(settings.gateway.rules_dir)
        self.identity = _identity(settings)
        self.calendar = make_calendar(settings)
        self.services = Services(
            sessions=self.sessions,
            rules=lambda: self._rules,
            renderer=Renderer(
                settings.gateway.templates_dir,
                domain=settings.gateway.domain,
                from_addr=self.identity.from_addr,
                name=self.identity.name,
                signature=self.identity.signature,
                eight_bit=settings.smtp.eight_bit,
                compiled_dir=settings.gateway.storage_dir / COMPILED_TEMPLATES,
            ),
            calendar=self.calendar,
            policy=settings.deadlines,
            identity=self.identity,
            loop=ClosedLoopPolicy.from_settings(settings),
            outbound=OutboundPolicy.from_settings(settings),
            faults=faults or FaultInjector(settings.faults),
            auto_reply_cap=AutoReplyCap(
                settings.auto_reply.limit,
                timedelta(minutes=settings.auto_reply.window_minutes),
            ),
            max_size=settings.mailbox.max_size,
            alert_channels=alert_channels(settings),
            chase=_chase_policy(settings),
        )
        self._sender: OutboxSender | None = None
        self._alert_sender: AlertSender | None = None
        self.write_turn = WriteTurn()  # shared with the outbox process by the daemon
        self._policy_compared = False  # chase(): stored check times made under this policy?

    def chase(self) -> CheckResult:
        """Queue the reminders, escalations and follow-ups due now (the due-check job).

        The first check of a process first has the stored check times made again if they
        were made under another chase policy or working calendar (a changed config).
        """
        if not self._policy_compared:
            chasing.recheck_if_policy_changed(self.services, self.chase_policy, self.clock())
            self._policy_compared = True
        return chasing.check(self.services, self.chase_policy, self.clock())

    @property
    def chase_policy(self) -> ChasePolicy:
        """[chase], as the services carry it (opening a record makes its first check time)."""
        return self.services.chase

    @property
    def rules(self) -> RuleSet:
        return self._rules

    def install_rules(self, rules: RuleSet) -> None:
        """Swap in a validated rule set; mails processed from now on are routed by it."""
        self._rules = rules

    def make_source(self) -> Source:
        from gateway.sources.factory import make_source

        return make_source(self.settings, self.sessions, self.clock, self.services.faults,
                           self.write_turn)

    def ingest(self, fetched: FetchedMail) -> Result:
        return process(self.services, fetched, self.clock())

    def process_batch(self, source: Source, committed: Callable[[], None] = lambda: None
                      ) -> list[Result]:
        """Fetch what waits, store it group by group, then settle the mailbox.

        `committed` is called after each group's commit (the daemon wakes its sender: the
        answers of the first group need not wait for the whole batch).
        """
        limit = self.settings.mailbox.batch
        if isinstance(source, ReadAhead):
            pending = source.fetch_parsed(limit)  # parsed in the reader process
        else:
            pending = [parse_fetched(item) for item in source.fetch(limit)]
        self.services.faults("after_fetch")
        settled, results = [], []
        while pending:
            # A group ends early when the outbox sender asks for SQLite's write lock.
            group = store_many(self.services, pending[:COMMIT_GROUP], self.clock(),
                               enough=self.write_turn.wanted)
            for parsed, result in zip(pending, group):
                results.append(result)
                settled.append((parsed.fetched, result.action.settlement))
                log.info("%s %s %s%s", parsed.fetched.key, result.action, result.record_id or "",
                         f" ({result.reason})" if result.reason else "")
            pending = pending[len(group):]
            committed()
            self.write_turn.give_way()
        self.services.faults("after_commit")
        if settled:
            source.settle(settled)  # passes after_move and after_settle, wherever it runs
        return results

    @property
    def sender(self) -> OutboxSender:
        # Built on first use: the daemon sends from its own process and never loads SMTP here.
        if self._sender is None:
            from gateway.credentials.factory import token_provider
            from gateway.outbox.sender import OutboxSender
            from gateway.usecases.system_mail import tell_admin_of_dead_letter

            smtp = self.settings.smtp
            self._sender = OutboxSender(
                self.sessions, smtp, None if smtp.uses_token else smtp.password("smtp"),
                tokens=token_provider("smtp", smtp, smtp.user or ""),
                on_dead=partial(tell_admin_of_dead_letter, services=self.services),
                faults=self.services.faults,
                write_turn=self.write_turn,
            )
        return self._sender

    def close_waiting(self) -> list[str]:
        """Close resolved records whose wait for a rating is over (a periodic job)."""
        with self.sessions.begin() as session:
            closed = close_waiting(session, self.services, self.clock())
        if closed:
            log.info("closed unrated after %s: %s", self.services.loop.close_after,
                     ", ".join(closed))
        return closed

    def flush(self) -> FlushResult:
        return self.sender.flush(self.clock())

    @property
    def alert_sender(self) -> AlertSender:
        if self._alert_sender is None:  # reads the robots' secrets: only where alerts are sent
            from gateway.runtime.alert_sender import AlertSender

            self._alert_sender = AlertSender(self.sessions, self.settings.im)
        return self._alert_sender

    def flush_alerts(self) -> AlertFlush:
        """Post the instant-message alerts due now (in the sender process, beside the mail)."""
        return self.alert_sender.flush(self.clock())

    def close(self) -> None:
        self.engine.dispose()


def _identity(settings: Settings) -> Identity:
    name, addr = parseaddr(settings.smtp.from_)
    g = settings.gateway
    return Identity(
        from_addr=Address(name or g.name, addr.lower()),
        domain=g.domain,
        internal_domains=frozenset(g.internal_domains),
        name=g.name,
        signature=g.signature,
        admin_address=g.admin_address,
    )


def alert_channels(settings: Settings) -> tuple[Channel, ...]:
    """[[im.channel]] as the alert rules see them: no webhook, no secret."""
    return tuple(
        Channel(c.name, RobotKind(c.kind), frozenset(AlertEvent(e) for e in c.events),
                frozenset(c.departments) if c.departments is not None else None)
        for c in settings.im.channel
    )


def _chase_policy(settings: Settings) -> ChasePolicy:
    c = settings.chase
    cadence = {**ChasePolicy().cadence, **{Urgency(u): d for u, d in c.cadence.items()}}
    return ChasePolicy(remind_at=c.remind_at, cadence=cadence, quiet_hours=c.quiet_hours,
                       max_follow_ups=c.max_follow_ups)
