"""The register at scale: N records filled through the storage code, then the commands timed.

The fill writes, through `gateway/db/bulk.py`, N records spread over N/100,000 years up to
a fixed "now" (a register grows by about 100,000 records a year): the departments and
outside parties of the shipped rules, urgencies 70/25/5 (普通/紧急/特急), 10% still chased
(the younger a record, the likelier), the rest resolved or closed with answer, completion
and rating times. Each record has its original mail and two log lines. A chased record
younger than CHASE_HISTORY has the notices it would have had by now and its next check
time; an older one is stored as done with chasing (its follow-ups long exhausted).

Then, each timed on its own: `records list` (first page, then by department and status),
`records show`, a reply threading into an old record (by Message-ID, then by the id in its
subject), one due-check tick, `sla due`, `export` of one month, `report` of one quarter.
The CLI commands run in this process through the CLI's own entry point, start-up included.
The last line printed is one JSON object: seconds per timing, fill seconds, peak_rss_mb.

    python bench/register.py --records 1000000 [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from dbfixtures import private_schema  # noqa: E402

from gateway.cli.main import main as cli  # noqa: E402
from gateway.config import load_settings  # noqa: E402
from gateway.db import bulk, chased  # noqa: E402
from gateway.db.records import RecordFilter, list_records  # noqa: E402
from gateway.deadlines.chase import RecordClock, due, made_under, next_check  # noqa: E402
from gateway.deadlines.policy import record_deadlines  # noqa: E402
from gateway.model import FetchedMail, Urgency  # noqa: E402
from gateway.runtime.assembly import Gateway  # noqa: E402

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # a Friday, 11:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
PER_YEAR = 100_000
CHASED_SHARE = 0.10
CHASE_HISTORY = timedelta(days=10)
BATCH = 5_000
GATEWAY = "gateway@corp.example"
URGENCIES = (("normal", 0.70), ("urgent", 0.25), ("critical", 0.05))
TOPICS = (("设备故障通知", "故障"), ("报价确认", "商务"), ("交付延期", "交付"),
          ("标签合规要求", "合规"), ("包装破损投诉", "投诉"), ("季度数据申请", "其他"))


def settings_overrides(folder: Path, url: str) -> dict:
    return {
        "gateway": {"domain": "gateway.corp.example", "internal_domains": ["corp.example"],
                    "rules_dir": str(ROOT / "rules"), "templates_dir": str(ROOT / "templates"),
                    "storage_dir": str(folder / "storage")},
        "mailbox": {"kind": "maildir", "path": str(folder / "mailbox")},
        "smtp": {"from": f"信息交流网关 <{GATEWAY}>"},
        "database": {"url": url},
        "logging": {"level": "WARNING"},
    }


def write_config(folder: Path, url: str) -> Path:
    lines = []
    for section, values in settings_overrides(folder, url).items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Filler:
    """Makes the rows of record i of n; the same seed makes the same register."""

    def __init__(self, gateway: Gateway, n: int, seed: int):
        self.gateway, self.n, self.rng = gateway, n, random.Random(seed)
        directory = gateway.rules.directory
        self.departments = directory.departments
        self.parties = gateway.rules.parties.parties
        self.span = timedelta(days=365 * max(n, 1) / PER_YEAR)
        self.seqs: dict[tuple[str, int], int] = {}
        # The chance of being chased decays with age so that CHASED_SHARE of all are.
        self.tau = self.span.total_seconds() * CHASED_SHARE

    def created(self, i: int) -> datetime:
        return NOW - self.span + self.span * ((i + self.rng.random() * 0.9) / self.n)

    def batch(self, first: int, last: int) -> dict[str, list[dict]]:
        rows: dict[str, list[dict]] = {"records": [], "mails": [], "log_entries": [],
                                       "notices": []}
        for i in range(first, last):
            self.record(i, rows)
        return rows

    def record(self, i: int, rows: dict[str, list[dict]]) -> None:
        rng = self.rng
        created = self.created(i)
        age = (NOW - created).total_seconds()
        chased = rng.random() < math.exp(-age / self.tau)
        urgency = rng.choices([u for u, _ in URGENCIES], [w for _, w in URGENCIES])[0]
        department = rng.choice(self.departments)
        prefix, year = department.id_prefix, created.astimezone(TZ).year
        seq = self.seqs[prefix, year] = self.seqs.get((prefix, year), 0) + 1
        record_id = f"{prefix}-{year}-{seq:03d}"
        title, problem = rng.choice(TOPICS)
        values = dict(
            id=record_id, prefix=prefix, year=year, seq=seq, urgency=urgency, title=title,
            subject=f"{department.name}-{title}", summary=f"{title}: 请协助处理 (第{i}号)",
            problem_type=problem, channel="email", department=department.name,
            owner_addr=department.head.addr if department.head else None,
            owner_name=department.head.name if department.head else None,
            cc=[], departments=[department.name], sent_at=created - timedelta(minutes=3),
            created_at=created, rule_name="default", **self.originator(i),
        )
        values.update(rating=None, resolved_at=None, closed_at=None, first_response_at=None)
        if chased:
            values.update(self.chased(values, created, rows))
        else:
            values.update(self.settled(created))
        rows["records"].append(values)
        self.mail_and_log(i, values, rows)

    def originator(self, i: int) -> dict:
        rng = self.rng
        if rng.random() < 0.6:
            party = rng.choice(self.parties)
            return dict(direction="external", from_addr=f"contact{i % 997}@{party.domain}",
                        from_name=f"联系人{i % 997}", organisation=party.organisation,
                        party_kind=party.kind, from_department=None)
        other = rng.choice(self.departments)
        return dict(direction="internal", from_addr=f"staff{i % 499}@corp.example",
                    from_name=f"员工{i % 499}", from_department=other.name, organisation=None,
                    party_kind=None)

    def chased(self, values: dict, created: datetime, rows: dict[str, list[dict]]) -> dict:
        g = self.gateway
        response, resolution = record_deadlines(created, Urgency(values["urgency"]),
                                                g.services.policy, g.calendar)
        answered = self.rng.random() < 0.4
        out = dict(status="in_progress" if answered else "open", due_at=response.at,
                   resolve_due_at=resolution.at, next_check_at=None,
                   first_response_at=(created + timedelta(hours=self.rng.uniform(0.2, 6))
                                      if answered else None))
        if out["first_response_at"] and out["first_response_at"] > NOW:
            out["first_response_at"] = NOW
        if NOW - created > CHASE_HISTORY:
            return out  # long past its last follow-up: nothing more to chase
        clock = RecordClock(values["id"], Urgency(values["urgency"]), created, response.at,
                            resolution.at, out["first_response_at"])
        sent = set()
        found = due(clock, sent, NOW, g.chase_policy, g.calendar)  # all of them, none sent yet
        for notice in (*found.send, *found.superseded):
            if notice.due_at <= NOW:
                sent.add(notice.key)
                rows["notices"].append(dict(
                    record_id=values["id"], key=notice.key, kind=notice.kind,
                    clock=notice.clock, seq=notice.seq, due_at=notice.due_at,
                    created_at=notice.due_at, status="sent", mail_id=None))
        out["next_check_at"] = next_check(clock, sent, g.chase_policy, g.calendar)
        return out

    def settled(self, created: datetime) -> dict:
        rng = self.rng
        answered = created + timedelta(hours=rng.uniform(0.2, 30))
        resolved = answered + timedelta(hours=rng.uniform(1, 120))
        closed = resolved + timedelta(days=3)
        waiting = closed > NOW  # resolved, the originator's rating still awaited
        return dict(
            status="resolved" if waiting else "closed", due_at=created + timedelta(hours=24),
            resolve_due_at=created + timedelta(days=5), first_response_at=min(answered, NOW),
            resolved_at=min(resolved, NOW), closed_at=None if waiting else closed,
            rating=rng.choice((None, 3, 4, 5, 5)), next_check_at=None,
        )

    def mail_and_log(self, i: int, values: dict, rows: dict[str, list[dict]]) -> None:
        message_id = original_id(values["id"], values["from_addr"])
        raw = (f"From: {values['from_addr']}\r\nTo: {GATEWAY}\r\nSubject: {values['subject']}"
               f"\r\nMessage-ID: <{message_id}>\r\n\r\n{values['summary']}\r\n").encode()
        rows["mails"].append(dict(
            direction="in", record_id=values["id"], message_id=message_id,
            inbound_key=message_id, source_key=f"fill:{i}", kind="original",
            subject=values["subject"], from_addr=values["from_addr"], to_addrs=[GATEWAY],
            date=values["sent_at"], created_at=values["created_at"], size=len(raw),
            digest=hashlib.sha256(raw).hexdigest(), raw=raw))
        rows["log_entries"].append(dict(
            record_id=values["id"], at=values["created_at"], kind="created",
            actor=values["from_addr"], text=f"收到来信, 建立记录: {values['subject']}", data={}))
        if values["status"] != "open":
            rows["log_entries"].append(dict(
                record_id=values["id"], at=values["first_response_at"], kind="status",
                actor=values["owner_addr"] or "gateway", text="待处理 → 处理中", data={}))


def fill(gateway: Gateway, n: int, seed: int) -> Filler:
    filler = Filler(gateway, n, seed)
    for first in range(0, n, BATCH):
        with gateway.sessions.begin() as session:
            bulk.insert_rows(session, filler.batch(first, min(n, first + BATCH)))
    with gateway.sessions.begin() as session:
        bulk.advance_sequences(session)
        # The filler made the check times under the gateway's own policy and calendar.
        chased.mark_check_times_made_under(
            session, made_under(gateway.chase_policy, gateway.calendar), NOW)
    return filler


def original_id(record_id: str, from_addr: str) -> str:
    return f"fill-{record_id.lower()}@{from_addr.partition('@')[2]}"


def reply(record, *, by_subject: bool) -> FetchedMail:
    """A staff member answers an old record: threaded by Message-ID or by the quoted id."""
    message_id = original_id(record.id, record.from_addr)
    subject = f"Re: [{record.id}] {record.subject}" if by_subject else f"Re: {record.subject}"
    threading = "" if by_subject else f"In-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n"
    raw = (f"From: {record.owner_name} <{record.owner_addr}>\r\nTo: {GATEWAY}\r\n"
           f"Subject: {subject}\r\nMessage-ID: <reply-{record.id}-{by_subject}@corp.example>\r\n"
           f"{threading}Date: Fri, 27 Nov 2026 11:00:00 +0800\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n备注: 已复核\r\n").encode()
    return FetchedMail(key=f"bench:{record.id}:{by_subject}", raw=raw, size=len(raw))


def timed(out: dict[str, float], name: str, action: Callable[[], object]) -> None:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = action()
    out[name] = round(time.perf_counter() - start, 3)
    if isinstance(result, int) and result != 0:
        raise SystemExit(f"{name} failed with exit code {result}")


def measure(gateway: Gateway, config: Path, folder: Path, n: int) -> dict[str, float]:
    # Two records from the register's first tenth, closed ones where there are.
    early = NOW - timedelta(days=365 * 0.9 * n / PER_YEAR)
    with gateway.sessions() as session:
        found = [r for r in list_records(session, RecordFilter(until=early, limit=50))
                 if r.owner_addr]
        old = ([r for r in found if r.status == "closed"] + found)[:2]
    run = ["--config", str(config)]
    t: dict[str, float] = {}
    timed(t, "records_list_s", lambda: cli([*run, "records", "list"]))
    timed(t, "records_list_filtered_s", lambda: cli(
        [*run, "records", "list", "--department", old[0].department, "--status", "closed"]))
    timed(t, "records_show_s", lambda: cli([*run, "records", "show", old[0].id]))
    timed(t, "reply_by_message_id_s", lambda: gateway.ingest(reply(old[0], by_subject=False)))
    timed(t, "reply_by_subject_id_s", lambda: gateway.ingest(reply(old[1], by_subject=True)))
    timed(t, "deadline_tick_s", gateway.chase)
    timed(t, "sla_due_s", lambda: cli([*run, "sla", "due"]))
    last_month = (NOW.astimezone(TZ).replace(day=1) - timedelta(days=1)).date()
    timed(t, "export_month_s", lambda: cli(
        [*run, "export", "--from", last_month.replace(day=1).isoformat(),
         "--to", last_month.isoformat(), "--out", str(folder / "month.xlsx")]))
    quarter = f"{last_month.year}Q{(last_month.month - 1) // 3 + 1}"
    timed(t, "report_quarter_s", lambda: cli(
        [*run, "report", "--period", quarter, "--out", str(folder / "quarter.html")]))
    # The interactive commands once more as an admin runs them: a process of their own,
    # start-up (imports, settings, database) included.
    for name, command in (("records_list_shell_s", ["records", "list"]),
                          ("records_show_shell_s", ["records", "show", old[0].id]),
                          ("sla_due_shell_s", ["sla", "due"])):
        timed(t, name, lambda command=command: shell([*run, *command]))
    return t


def shell(args: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], stdout=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False).returncode


@contextlib.contextmanager
def database(url: str | None) -> Iterator[tuple[Path, str]]:
    """A folder for the files, and an empty database: SQLite in it, or a throw-away schema."""
    with tempfile.TemporaryDirectory(prefix="gw-register-") as tmp:
        folder = Path(tmp)
        if url is None:
            yield folder, f"sqlite:///{folder / 'register.sqlite3'}"
            return
        with private_schema(url) as schema_url:
            yield folder, schema_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database-url", help="a PostgreSQL database; the bench fills a schema of its own and drops it (default: SQLite)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with database(args.database_url) as (folder, url):
        config = write_config(folder, url)
        gateway = Gateway(load_settings(config), clock=lambda: NOW + timedelta(minutes=1))
        try:
            start = time.perf_counter()
            fill(gateway, args.records, args.seed)
            filled = time.perf_counter() - start
            print(f"filled {args.records:,} records in {filled:.1f}s")
            timings = measure(gateway, config, folder, args.records)
        finally:
            gateway.close()
        for name, seconds in timings.items():
            print(f"{name:<28}{seconds:8.3f}s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"records": args.records, "fill_s": round(filled, 1), **timings,
                          "peak_rss_mb": round(peak, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
