"""Structured logs: one JSON object per line, extra fields kept as data."""

from __future__ import annotations

import json
import logging

from gateway.runtime.logs import JsonFormatter


def test_json_lines_carry_message_level_and_extra_fields():
    record = logging.LogRecord("gateway.reload", logging.ERROR, __file__, 1,
                               "rule reload refused: %s", ("routing.toml:3: 坏",), None)
    record.record_id = "NX-2026-001"
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["level"] == "ERROR" and data["logger"] == "gateway.reload"
    assert data["msg"] == "rule reload refused: routing.toml:3: 坏"
    assert data["record_id"] == "NX-2026-001"
    assert "args" not in data and "pathname" not in data
