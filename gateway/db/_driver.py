"""Rows handed to the driver's executemany, converted by the columns' own types.

`connection.execute(insert(table), rows)` compiles nothing new for a cached statement, but
it still builds and processes every row's parameters through several layers per value; for
the dozen rows storing a mail writes, that bookkeeping costs more than the database does.
Here the statement is compiled once per table and set of keys, each value goes through its
column's bind processor, and the list goes to the driver as it is.

A column a row leaves out gets its default when that is a plain value; a default computed
per row (a callable) needs SQLAlchemy's execution context, so `compiled_insert` returns None
and the caller takes the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table, func, insert, select

_Converters = tuple[tuple[str, Callable[[Any], Any] | None], ...]
# The INSERT's text, each parameter's converter in order, whether positional, and the plain
# defaults of the columns the rows leave out.
_Plan = tuple[str, _Converters, bool, dict[str, Any]]
_plans: dict[tuple[Table, tuple[str, ...], str], _Plan | None] = {}


def compiled_insert(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    """How rows with these keys go to the driver; None when they cannot."""
    cache_key = (table, keys, dialect.name)
    if cache_key not in _plans:
        _plans[cache_key] = _plan(table, keys, dialect)
    return _plans[cache_key]


def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or compiled.binds)
    defaults = {}
    for key in set(order) - set(keys):
        default = table.c[key].default
        if default is None or not default.is_scalar:
            return None
        defaults[key] = default.arg
    converters = tuple((key, table.c[key].type._cached_bind_processor(dialect))
                       for key in order)
    return compiled.string, converters, bool(compiled.positional), defaults


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Insert rows that all have the same keys; False (nothing written) when they cannot go
    straight to the driver."""
    first = rows[0].keys()
    if any(row.keys() != first for row in rows):
        return False
    plan = compiled_insert(table, tuple(first), connection.dialect)
    if plan is None:
        return False
    statement, converters, positional, defaults = plan
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    params = [tuple(f(row[k]) if f else row[k] for k, f in converters) for row in rows]
    if not positional:
        names = [key for key, _ in converters]
        params = [dict(zip(names, p)) for p in params]
    connection.exec_driver_sql(statement, params)
    return True


def reserve_ids(connection: Connection, table: Table, count: int) -> Sequence[int] | None:
    """`count` new values of `table`'s integer `id`, for rows written with their ids given, so
    an executemany needs no RETURNING; None where the backend has no way here.

    SQLite: the transaction holds the write lock from its BEGIN IMMEDIATE (db/engine.py), so
    nobody else can take the ids after the largest one. PostgreSQL: the column's sequence.
    """
    name = connection.dialect.name
    if name == "sqlite":
        largest = connection.execute(select(func.max(table.c.id))).scalar() or 0
        return range(largest + 1, largest + 1 + count)
    if name == "postgresql":
        return connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) "
            "FROM generate_series(1, %(count)s)",
            {"table": table.name, "count": count}).scalars().all()
    return None
