"""On PostgreSQL, a reply's thread lookups use their indexes, even on a table never analysed.

Asked for `ORDER BY id LIMIT 1`, PostgreSQL chose to walk the mail table backwards by id
until a row matched: 1.7 s for a reply to an old record in a register of a million.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert, text

from gateway.db import mails, records
from gateway.db.engine import make_engine, upgrade
from gateway.db.models import Mail, Record
from gateway.db.sessions import Sessions

ROWS = 300_000  # enough for the planner to prefer the primary key, unanalysed
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def filled(request):
    from dbfixtures import _postgres

    with _postgres("PostgreSQL query plans") as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(insert(Record), [_record(n) for n in range(3)])
            connection.execute(insert(Mail), [_mail(n) for n in range(6)])
            # The rest of the table: other mail, written by the server itself to be quick.
            connection.execute(text(
                "INSERT INTO mails (direction, message_id, inbound_key, kind, subject,"
                " from_addr, to_addrs, created_at, size, digest, raw)"
                " SELECT 'in', 'other' || n || '@b.example', 'other' || n, 'original', 's',"
                " 'a@b.example', '[]', :at, 1, 'd', 'x' FROM generate_series(1, :rows) AS n"),
                {"at": AT.replace(tzinfo=None), "rows": ROWS})
        yield engine
        engine.dispose()


def _record(n: int) -> dict:
    return {"id": f"NX-2026-{n + 1:03d}", "prefix": "NX", "year": 2026, "seq": n + 1,
            "direction": "inbound", "status": "open", "urgency": "normal", "title": "t",
            "subject": "s", "department": "生产部", "from_addr": "a@b.example",
            "created_at": AT, "sent_at": AT, "rule_name": "default", "channel": "email", "cc": [], "departments": []}


def _mail(n: int) -> dict:
    # The oldest rows: the records' mail.
    record_id = f"NX-2026-{n % 3 + 1:03d}"
    return {"direction": "in" if n % 2 == 0 else "out", "record_id": record_id,
            "message_id": f"m{n // 2}@b.example", "inbound_key": f"k{n}", "kind": "original",
            "subject": "s", "from_addr": "a@b.example", "to_addrs": [], "created_at": AT,
            "size": 1, "digest": "d", "raw": b"x"}


def _plans(engine, call) -> list[str]:
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with Sessions(engine)() as session:
            result = call(session)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    plans = []
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return result, plans


def test_threading_by_message_id_uses_the_message_id_index(filled) -> None:
    record, plans = _plans(filled, lambda s: records.record_for_message_ids(
        s, ["m0@b.example", "m2@b.example"]))
    # m0 names rows 0 and 1 (NX-2026-001, -002), m2 rows 4 and 5 (-002, -003): newest wins.
    assert record.id == "NX-2026-003"
    lookup = plans[0]
    assert "ix_mails_message_id" in lookup, lookup
    assert "Backward" not in lookup and "Seq Scan" not in lookup, lookup


def test_the_first_inbound_mail_of_a_record_uses_the_record_index(filled) -> None:
    message_id, plans = _plans(filled, lambda s: mails.first_inbound_message_id(
        s, "NX-2026-001"))
    assert message_id == "m0@b.example"  # rows 0 (in) and 3 (out) are NX-2026-001's
    assert "ix_mails_record_id" in plans[0], plans[0]
    assert "Backward" not in plans[0] and "Seq Scan" not in plans[0], plans[0]
