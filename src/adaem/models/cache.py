"""A persistent call cache in SQLite (WAL): a finished call is never paid for twice.

Keyed on CallKey.digest() (provider, base URL, model, messages, sampling settings, seed, sample index).
Only successes are stored; an error is never cached, so a resumed run retries it. A commit per entry keeps
a kill -9 from losing more than the calls in flight.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from .types import Choice, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    choice TEXT NOT NULL,
    usage TEXT NOT NULL,
    raw TEXT
);
"""


def connect(path: Path) -> sqlite3.Connection:
    """An SQLite connection in WAL mode, shareable across the threads of one process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class CallCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Choice, Usage, object] | None:
        """(choice, usage, the provider's raw response) of a finished call, or None."""
        with self._lock:
            row = self._conn.execute("SELECT choice, usage, raw FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return Choice.model_validate_json(row[0]), Usage.model_validate_json(row[1]), row[2] and json.loads(row[2])

    def put(self, key: str, model: str, choice: Choice, usage: Usage, raw: object = None) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO calls (key, model, created, choice, usage, raw) VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, time.time(), choice.model_dump_json(), usage.model_dump_json(),
                 None if raw is None else json.dumps(raw, default=str)),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
