"""How the gateway holds a transaction: the session factory, its errors, and flushing early."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session as Session  # re-exported: a type hint outside db/

from gateway.db import _journal
from gateway.db.engine import SNAPSHOT, make_sessionmaker
from gateway.errors import Duplicate, StorageError, StorageUnavailable


class Sessions:
    """Opens sessions on the register: `with sessions() as s` reads, `sessions.begin()` writes.

    A driver error that ends a transaction leaves as the gateway's own (errors.py), so
    nothing above db/ knows the driver: a unique row refused becomes `Duplicate`, a locked
    or vanished database `StorageUnavailable`, any other refusal `StorageError`.
    """

    def __init__(self, engine: Engine):
        self._maker = make_sessionmaker(engine)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Session]:
        with translated(), self._maker() as session:
            yield session

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session that only reads: on SQLite it never waits for a writer, nor makes one wait.

        It sees the register as of its first query. Writing in it is a bug: on SQLite the
        write fails at once when another process holds the write lock.
        """
        with translated(), self._maker(execution_options={SNAPSHOT: True}) as session:
            yield session

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in a transaction, committed when the block ends, rolled back on error."""
        with translated(), self._maker.begin() as session:
            yield session


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Driver errors raised inside become Duplicate, StorageUnavailable or StorageError.

    Errors of the ORM's own use (a detached object, a wrong query) are bugs, not storage
    failures, and pass unchanged.
    """
    try:
        yield
    except IntegrityError as exc:
        raise Duplicate(str(exc)) from exc
    except OperationalError as exc:
        raise StorageUnavailable(str(exc)) from exc
    except DBAPIError as exc:
        raise StorageError(str(exc)) from exc


def flush_pending(session: Session) -> None:
    """Write the rows this transaction holds back (see _journal.py), so queries see them."""
    if _journal.pending(session):
        _journal.flush(session)
