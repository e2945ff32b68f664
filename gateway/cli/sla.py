"""`gateway sla …`: what is due, how a deadline was computed, and a deadline calculator."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.deadlines.policy import KINDS
from gateway.errors import UsageError
from gateway.model import Urgency

if TYPE_CHECKING:
    from gateway.deadlines.worktime import Deadline


def add_commands(sub: argparse._SubParsersAction, settings_of, gateway_of, register_of) -> None:
    """Register `sla due|explain|deadline`; settings_of, gateway_of and register_of build
    what they need from the args."""
    sla = sub.add_parser("sla", help="deadlines: what is due, how they were computed")
    actions = sla.add_subparsers(metavar="ACTION")

    due = actions.add_parser("due", help="records due or breached, with working time left")
    due.add_argument("--json", action="store_true")
    due.add_argument("--limit", type=int, default=100,
                     help="show the N soonest deadlines (default 100; 0 shows all)")
    due.set_defaults(handler=lambda args: _due(register_of(args), args.json, args.limit))

    explain = actions.add_parser("explain", help="how a record's deadlines were computed")
    explain.add_argument("id")
    explain.set_defaults(handler=lambda args: _explain(gateway_of(args), args.id))

    deadline = actions.add_parser("deadline", help="the deadline for a start time (calendar check)")
    deadline.add_argument("--start", required=True, help="ISO 8601, e.g. 2026-09-30T17:00+08:00")
    deadline.add_argument("--urgency", required=True, choices=[u.value for u in Urgency])
    deadline.add_argument("--kind", default="response", choices=KINDS)
    deadline.add_argument("--json", action="store_true")
    deadline.set_defaults(handler=lambda args: _deadline(settings_of(args), args))


# --- sla due ----------------------------------------------------------------------------------


def _due(register, as_json: bool, limit: int = 100) -> int:
    from gateway.runtime.workcalendar import make_calendar
    from gateway.usecases.deadline_view import due_rows

    now = datetime.now(UTC)
    with register.sessions() as session:
        rows = due_rows(session, make_calendar(register.settings), now, limit or None)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("nothing is being chased")
        return 0
    print(f"{'信息编号':<14}{'紧急':<5}{'时限':<7}{'到期':<18}{'剩余工时':<12}{'部门':<8}责任人")
    for r in rows:
        at = datetime.fromisoformat(r["deadline"]).astimezone(register.settings.tz)
        left = ("超时 " if r["breached"] else "") + r["working_time_left_text"]
        print(f"{r['id']:<16}{Urgency(r['urgency']).label:<5}{r['clock_label']:<7}"
              f"{at:%Y-%m-%d %H:%M}  {left:<12}{r['department']:<8}{r['owner'] or '-'}")
    return 0


# --- sla explain ------------------------------------------------------------------------------


def _explain(gateway, record_id: str) -> int:
    from gateway.usecases.chase_terms import CLOCK_LABELS, KIND_LABELS
    from gateway.usecases.deadline_view import schedule

    tz = gateway.calendar.tz
    with gateway.sessions() as session:
        shown = schedule(session, gateway.services, gateway.chase_policy, record_id)
        record = shown.record
        print(f"{record.id} {Urgency(record.urgency).label} {record.department}: {record.title}")
        if record.deadline_overrides:
            print(f"rule '{record.rule_name}' overrides deadlines: {record.deadline_overrides}")
        for label, deadline, stored in (("首次反馈 (response)", shown.response, record.due_at),
                                        ("处理完成 (resolution)", shown.resolution,
                                         record.resolve_due_at)):
            print(f"\n{label}")
            for line in deadline.explain():
                print(f"  {line}")
            if stored is not None and stored != deadline.at:
                print(f"  stored deadline differs: {stored.astimezone(tz)}")
        print("\nnotices")
        for notice, done in shown.notices:
            state = f"{done.status} {done.created_at.astimezone(tz):%m-%d %H:%M}" if done else (
                "pending")
            seq = f" #{notice.seq}" if notice.seq else ""
            print(f"  {notice.due_at.astimezone(tz):%Y-%m-%d %H:%M}  "
                  f"{CLOCK_LABELS[notice.clock]}{KIND_LABELS[notice.kind]}{seq}  {state}")
    return 0


# --- sla deadline -----------------------------------------------------------------------------


def _deadline(settings, args: argparse.Namespace) -> int:
    from gateway.runtime.workcalendar import make_calendar

    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start: not an ISO 8601 time: {args.start!r}") from None
    calendar = make_calendar(settings)
    if start.tzinfo is None:
        start = start.replace(tzinfo=calendar.tz)  # a bare time means the gateway's zone
    deadline = settings.deadlines.deadline(start, Urgency(args.urgency), args.kind, calendar)
    if args.json:
        print(json.dumps(deadline_json(deadline, args.urgency, args.kind), ensure_ascii=False))
    else:
        print("\n".join(deadline.explain()))
    return 0


def deadline_json(deadline: Deadline, urgency: str, kind: str) -> dict[str, Any]:
    return {
        "deadline": deadline.at.isoformat(),
        "urgency": urgency,
        "kind": kind,
        "duration": str(deadline.duration),
        "start": deadline.start.isoformat(),
        "moved_from": deadline.moved_from.isoformat() if deadline.moved_from else None,
        "skipped": [{"date": d.isoformat(), "why": why} for d, why in deadline.skipped],
    }
