"""Where the project is: tests and benchmarks find rules/, templates/ and the rest from here."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ → the project
