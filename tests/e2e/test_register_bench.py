"""bench/register.py runs end to end at a tiny size and reports every timing it promises."""

from __future__ import annotations

import json
import subprocess
import sys

from paths import ROOT

KEYS = {"records", "fill_s", "records_list_s", "records_list_filtered_s", "records_show_s",
        "reply_by_message_id_s", "reply_by_subject_id_s", "deadline_tick_s", "sla_due_s",
        "export_month_s", "report_quarter_s", "records_list_shell_s", "records_show_shell_s",
        "sla_due_shell_s", "peak_rss_mb"}


def test_the_register_benchmark_prints_one_json_line_with_every_timing():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "register.py"),
                           "--records", "600"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == KEYS
    assert figures["records"] == 600


def test_on_postgresql_the_benchmark_fills_a_schema_of_its_own_and_drops_it(pg_storage_url):
    # pg_storage_url: skipped without PostgreSQL, failed under CI; the bench makes its own.
    import os

    from sqlalchemy import create_engine, text

    base = os.environ["GATEWAY_TEST_DATABASE_URL"]
    engine = create_engine(base)

    def schemas() -> set[str]:
        with engine.connect() as connection:
            return set(connection.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%'")).scalars())

    def public_tables() -> int:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()

    before, tables = schemas(), public_tables()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "register.py"),
                           "--records", "300", "--database-url", base],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["records"] == 300
    assert schemas() == before  # its schema is gone
    assert public_tables() == tables  # and nothing was written beside it
    engine.dispose()
