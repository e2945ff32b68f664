"""bench/register.py runs end to end at a tiny size and reports every timing it promises."""

from __future__ import annotations

import json
import subprocess
import sys

from paths import ROOT

KEYS = {"records", "fill_s", "records_list_s", "records_list_filtered_s", "records_show_s",
        "reply_by_message_id_s", "reply_by_subject_id_s", "deadline_tick_s", "sla_due_s",
        "export_month_s", "report_quarter_s", "peak_rss_mb"}


def test_the_register_benchmark_prints_one_json_line_with_every_timing():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "register.py"),
                           "--records", "600"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == KEYS
    assert figures["records"] == 600
