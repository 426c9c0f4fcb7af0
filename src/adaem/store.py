"""Run directories: a config snapshot, the state (SQLite, WAL) and append-only JSONL outputs.

A run killed at any instant resumes with the same directory:
- every finished LLM call is in the call cache (committed per call), so nothing paid is repeated;
- every finished unit of work is a line in an outputs/*.jsonl stream, written whole and flushed; a torn last
  line (killed mid-write) is cut off at resume, and that unit is simply done again from the cache;
- the state database keeps sessions, accounting and whatever a job needs to continue (bandit arms, …).

    RUN_DIR/
      config.yaml        the config the run was started (or last resumed) with
      state.sqlite       sessions, usage per session/model/role, key-value state of the job
      cache.sqlite       the call cache (unless config.cache_path points elsewhere)
      outputs/*.jsonl    one record per finished unit of work
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .config import RunConfig, dump_config, load_config
from .errors import ConfigError
from .models.accounting import Ledger
from .models.cache import CallCache, connect

_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL DEFAULT 'running',
    argv TEXT
);
CREATE TABLE IF NOT EXISTS usage (
    session INTEGER NOT NULL,
    model TEXT NOT NULL,
    role TEXT NOT NULL,
    tally TEXT NOT NULL,
    PRIMARY KEY (session, model, role)
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class RunStore:
    """One run directory. Open with `RunStore.create(...)` or `RunStore.resume(...)`."""

    def __init__(self, path: Path, config: RunConfig, job: str):
        self.path = Path(path)
        self.config = config
        self.job = job
        (self.path / "outputs").mkdir(parents=True, exist_ok=True)
        self.state = connect(self.path / "state.sqlite")
        self.state.executescript(_STATE_SCHEMA)
        self.cache = CallCache(config.cache_path or self.path / "cache.sqlite")
        (self.path / "config.yaml").write_text(dump_config(config))
        cur = self.state.execute(
            "INSERT INTO sessions (job, started, argv) VALUES (?, ?, ?)", (job, time.time(), json.dumps(sys.argv))
        )
        self.session = int(cur.lastrowid or 0)

    # -- opening -------------------------------------------------------------------------------------
    @staticmethod
    def is_run(path: Path) -> bool:
        return (Path(path) / "state.sqlite").exists()

    @classmethod
    def create(cls, path: Path, config: RunConfig, job: str) -> RunStore:
        if cls.is_run(path):
            raise ConfigError(f"{path} already holds a run: add --resume to continue it, or choose another --out")
        return cls(path, config, job)

    @classmethod
    def resume(cls, path: Path, job: str, config: RunConfig | None = None) -> RunStore:
        """Continue a run; with no new config, the snapshot it was started with."""
        if not cls.is_run(path):
            raise ConfigError(f"nothing to resume at {path}: it holds no run (no state.sqlite)")
        if config is None:
            config = load_config(Path(path) / "config.yaml")
        return cls(path, config, job)

    @classmethod
    def open(cls, path: Path, config: RunConfig | None, job: str, resume: bool) -> RunStore:
        """Resume (config None: the run's snapshot) or create (config None: the defaults)."""
        if resume:
            return cls.resume(path, job, config)
        return cls.create(path, config or RunConfig(), job)

    # -- outputs -------------------------------------------------------------------------------------
    def stream_path(self, stream: str) -> Path:
        return self.path / "outputs" / f"{stream}.jsonl"

    def append(self, stream: str, record: dict[str, Any]) -> None:
        """Append one whole line; flushed so a kill -9 after this returns cannot lose it."""
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self.stream_path(stream).open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def records(self, stream: str) -> Iterator[dict[str, Any]]:
        """The whole lines of a stream. A torn last line (killed mid-write) is cut off the file, so that the
        next append starts on a line of its own."""
        path = self.stream_path(stream)
        if not path.exists():
            return
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with path.open("r+b") as fh:
                fh.truncate(end)
        yield from _whole_lines(data)

    def done_keys(self, stream: str, field: str = "key") -> set[str]:
        return {r[field] for r in self.records(stream) if field in r}

    # -- state ---------------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        row = self.state.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self.state.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def save_usage(self, ledger: Ledger) -> None:
        """This session's accounting, rewritten whole (cheap: a row per model and role)."""
        rows = [(self.session, r["model"], r["role"], json.dumps(r)) for r in ledger.rows()]
        self.state.execute("BEGIN")
        self.state.execute("DELETE FROM usage WHERE session = ?", (self.session,))
        self.state.executemany("INSERT INTO usage (session, model, role, tally) VALUES (?, ?, ?, ?)", rows)
        self.state.execute("COMMIT")

    def previous_usage(self) -> dict[str, float]:
        """Calls, tokens and cost of the earlier sessions of this run (for budgets that span resumes)."""
        calls = tokens = 0
        cost = 0.0
        for (tally,) in self.state.execute("SELECT tally FROM usage WHERE session != ?", (self.session,)):
            t = json.loads(tally)
            calls += t["calls"]
            tokens += t["input_tokens"] + t["output_tokens"]
            cost += t.get("cost", 0.0)
        return {"calls": calls, "tokens": tokens, "cost": cost}

    def finish(self, status: str = "finished") -> None:
        self.state.execute("UPDATE sessions SET finished = ?, status = ? WHERE id = ?", (time.time(), status, self.session))

    def close(self) -> None:
        self.cache.close()
        self.state.close()


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float (a figure with no interval, say) replaced by None, recursively."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar
        return finite(value.item())
    return value


def json_text(value: Any, indent: int | None = 1) -> str:
    """Strict JSON (no NaN, which browsers' JSON.parse and other readers refuse): a missing figure is null."""
    return json.dumps(finite(value), indent=indent, allow_nan=False, default=lambda v: finite(float(v)))


def _whole_lines(data: bytes) -> list[dict[str, Any]]:
    """The records of JSONL bytes: one per newline-terminated line. What follows the last newline is a line
    being written (or torn by a kill) and is not a record yet."""
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines() if line.strip()]


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Every record of a run's JSONL file (a stream under outputs/, or benchmark.jsonl), read-only, with the one
    torn-line policy of `RunStore.records`; no file: no records."""
    path = Path(path)
    return _whole_lines(path.read_bytes()) if path.exists() else []


def write_jsonl(path: Path | str, records: Iterable[dict[str, Any]]) -> None:
    """A whole JSONL file (a benchmark, a question set, a batch file): one record a line, UTF-8, written to a
    temporary file first and renamed, so a reader never sees half of it."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def _read(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a run's state database, opened read-only (reading a run changes nothing, opens no session);
    no rows when the run has no such table yet."""
    state = (Path(path) / "state.sqlite").resolve()
    if not state.exists():
        return []
    conn = sqlite3.connect(state.as_uri() + "?mode=ro", uri=True)  # the URI form escapes odd paths
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def read_usage(path: Path) -> list[dict[str, Any]]:
    """Accounting of every session of a run directory."""
    return [{"session": s, **json.loads(t)} for s, t in _read(path, "SELECT session, tally FROM usage")]


USAGE_FIELDS = ("calls", "cache_hits", "retries", "errors", "input_tokens", "output_tokens", "cost", "seconds",
                "batched", "reasoning_tokens")


def merged_usage(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Usage rows summed over sessions: one per (model, role), sorted by role then model."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        m = merged.setdefault((r["model"], r["role"]), {"model": r["model"], "role": r["role"],
                                                         **dict.fromkeys(USAGE_FIELDS, 0)})
        for k in USAGE_FIELDS:
            m[k] += r.get(k, 0)
    return sorted(merged.values(), key=lambda r: (r["role"], r["model"]))


def read_sessions(path: Path) -> list[dict[str, Any]]:
    """The sessions of a run, oldest first: job, status, start and end times."""
    return [{"job": j, "status": st, "started": a, "finished": f}
            for j, st, a, f in _read(path, "SELECT job, status, started, finished FROM sessions ORDER BY id")]


def read_replicas(path: Path) -> list[dict[str, Any]]:
    """Calls and errors per (model, replica) of a run's replicated endpoints, summed over its sessions."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for (value,) in _read(path, "SELECT value FROM kv WHERE key LIKE 'replicas/%'"):
        for r in json.loads(value):
            m = merged.setdefault((r["model"], r["url"]), {"model": r["model"], "url": r["url"], "calls": 0, "errors": 0})
            m["calls"] += r["calls"]
            m["errors"] += r["errors"]
    return sorted(merged.values(), key=lambda r: (r["model"], r["url"]))


def read_state(path: Path, key: str, default: Any = None) -> Any:
    """One value of a run's job state."""
    rows = _read(path, "SELECT value FROM kv WHERE key = ?", (key,))
    return json.loads(rows[0][0]) if rows else default


def default_run_dir(job: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{job}-{stamp}-{os.getpid()}"
