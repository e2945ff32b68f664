"""Database fixtures: a fresh SQLite file, and a private PostgreSQL schema when configured."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "GATEWAY_TEST_DATABASE_URL"


def _backends() -> list:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=_backends())
def storage_url(request, tmp_path):
    """A database URL per backend; PostgreSQL gets a throw-away schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
        return
    with _postgres("PostgreSQL storage tests") as url:
        yield url


@pytest.fixture
def pg_storage_url():
    """A throw-away PostgreSQL schema (for what only PostgreSQL does: several nodes)."""
    with _postgres("PostgreSQL tests") as url:
        yield url


@contextlib.contextmanager
def _postgres(what: str) -> Iterator[str]:
    """A private schema on $GATEWAY_TEST_DATABASE_URL; skipped when unset, failed under CI."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} must be set under CI")
        pytest.skip(f"{PG_ENV} not set: {what} skipped")
    with private_schema(base) as url:
        yield url


@contextlib.contextmanager
def private_schema(base: str) -> Iterator[str]:
    """A URL on a schema of its own in the database `base`, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
