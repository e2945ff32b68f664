"""New rows written in one statement per table just before the transaction commits.

Storing a mail adds a dozen rows (the record, the mail, the answers, the outbox entries, log
lines, the count of automatic answers), and the transaction that writes them seldom reads
them back. As ORM objects they cost more than everything else in storing a mail, so
they wait here as plain values and go out as one executemany INSERT per table, in the
order the foreign keys need, after the ORM's own flush. A row that others point at is
given a `Row` handle whose id is filled in when it is written.

The rows are written like the ORM's pending objects: at commit (a `before_commit` listener,
so no use case can forget them), before an ORM query unless autoflush is off (as in the
pipeline's batches), and by `flush(session)`.
A rollback discards them with the transaction. A savepoint is refused once the journal is in
use, because a savepoint's rollback could not tell its rows from those before it.

The journal also keeps per-transaction counters that must reach the database once, at the
end (`finally_execute`): the id sequence bumps once per prefix and transaction, not once per
record, and sets its final value here.

Private to the repositories of db/: the use cases call `sessions.flush_pending` when a query
must see what their transaction wrote.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, Table, event, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from gateway.db._driver import insert_many, reserve_ids

_KEY = "gateway.journal"


class Row:
    """A row the journal holds; `id` is its primary key once written."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id: int | None = None


class Journal:
    """The rows and final statements one transaction has not written yet."""

    def __init__(self) -> None:
        # table → rows: (plain values, {column: object whose .id goes there}, handle or None)
        self._rows: dict[Table, list[tuple[dict[str, Any], Mapping[str, Any], Row | None]]] = {}
        self._final: dict[object, tuple[Executable, dict[str, Any]]] = {}
        self.memo: dict[object, Any] = {}  # per-transaction state of the journal's users

    def __bool__(self) -> bool:
        return bool(self._rows or self._final)

    def add(self, table: Table, values: dict[str, Any], refs: Mapping[str, Any],
            handle: Row | None = None) -> None:
        self._rows.setdefault(table, []).append((values, refs, handle))

    def finally_execute(self, key: object, statement: Executable, params: dict[str, Any]
                        ) -> None:
        """Run `statement` at the end of the transaction; a later one under `key` replaces it."""
        self._final[key] = (statement, params)

    def write(self, session: Session) -> None:
        if not self:
            return
        session.flush()  # the objects the rows point at get their ids
        rows, self._rows = self._rows, {}
        for table in sorted(rows, key=_dependency_order):
            entries = rows[table]
            params = [
                {**values, **{column: _id_of(obj) for column, obj in refs.items()}}
                for values, refs, _ in entries
            ]
            if not any(handle for _, _, handle in entries):
                _write_rows(session.connection(), table, params)
                continue
            ids = _ids_for(session, table, params)
            for (_, _, handle), new_id in zip(entries, ids, strict=True):
                if handle is not None:
                    handle.id = new_id
        final, self._final = self._final, {}
        for statement, params in final.values():
            session.execute(statement, params)

    def discard(self) -> None:
        self._rows.clear()
        self._final.clear()
        self.memo.clear()


def journal(session: Session) -> Journal:
    """The journal of the session's current transaction."""
    found = session.info.get(_KEY)
    if found is None:
        found = session.info[_KEY] = Journal()
    return found


def insert_later(session: Session, table: Table, values: dict[str, Any], **refs: Any) -> None:
    """Queue one row of `table`; `refs` name columns filled with an object's id at write time.

    Every row of one table must carry the same keys: they go out as one executemany.
    """
    journal(session).add(table, values, refs)


def insert_later_with_id(session: Session, table: Table, values: dict[str, Any],
                         **refs: Any) -> Row:
    """`insert_later` for a row others point at: its handle gets the id when it is written."""
    handle = Row()
    journal(session).add(table, values, refs, handle)
    return handle


def pending(session: Session) -> bool:
    """Whether the ORM or the journal holds rows not yet written."""
    return bool(session.new or session.info.get(_KEY))


def flush(session: Session) -> None:
    """Write the ORM's pending objects and the journal's rows, so queries see both."""
    found = session.info.get(_KEY)
    if found:
        found.write(session)
    else:
        session.flush()


def _ids_for(session: Session, table: Table, params: list[dict[str, Any]]) -> Sequence[int]:
    """Write the rows; their ids, in order, for the handles of rows others point at."""
    connection = session.connection()
    ids = reserve_ids(connection, table, len(params))
    if ids is None:
        # insertmanyvalues: one statement, ids returned in the order of the rows
        return session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), params
        ).scalars().all()
    for row, new_id in zip(params, ids, strict=True):
        row["id"] = new_id
    _write_rows(connection, table, params)
    return ids


def _write_rows(connection: Connection, table: Table, params: list[dict[str, Any]]) -> None:
    if not insert_many(connection, table, params):
        connection.execute(insert(table), params)


@functools.cache
def _dependency_order(table: Table) -> int:
    return table.metadata.sorted_tables.index(table)


def _id_of(obj: Any) -> Any:
    if obj is None:
        return None
    if obj.id is None:
        raise RuntimeError(f"{type(obj).__name__} has no id yet; was it added to this session?")
    return obj.id


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    found = session.info.get(_KEY)
    if found:
        found.write(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    # Autoflush for journal rows: a query sees them as it sees pending objects. The ORM has
    # already autoflushed its own objects at this point, and flushes nothing while flushing.
    session = state.session
    found = session.info.get(_KEY)
    if found and state.is_select and session.autoflush and not session._flushing:
        found.write(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended (committed, rolled back or closed): start afresh.
    found = session.info.get(_KEY)
    if found is not None and transaction.parent is None:
        found.discard()


@event.listens_for(Session, "after_soft_rollback")
def _discard_at_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Savepoints start with an empty journal, so whatever waits now belongs to the one undone.
    found = session.info.get(_KEY)
    if found is not None:
        found.discard()


@event.listens_for(Session, "after_transaction_create")
def _refuse_savepoint(session: Session, transaction: SessionTransaction) -> None:
    found = session.info.get(_KEY)
    if transaction.nested and found is not None and (found or found.memo):
        raise RuntimeError("a savepoint was begun while the journal holds this transaction's "
                           "rows or state; savepoints must come before the journal is used")
