"""A human-evaluation study: one directory holding one SQLite database (WAL, every rating its own commit).

    STUDY/
      study.sqlite   meta (sources, metrics, admin token), items (question, set, pair), raters (name, token),
                     assignments (each rater's items in their own order), ratings (one row per rater, item and
                     metric: the current value), history (every change, undo included, never deleted)
      metrics.yaml   the metrics file the study was created with, as it was

Set membership (`set_name`) lives only in `items`; nothing a rater's token can reach reads it. Tokens come from
`secrets.token_urlsafe`; the directory is private to its owner (0700, database 0600).
"""

from __future__ import annotations

import hmac
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .metrics import MetricSet, load_metrics, parse_metrics
from .pairs import Pair, describe, load_baseline, load_generated, match_pairs, norm_text

STUDY_DB = "study.sqlite"
FORMAT = 1
SETS = ("baseline", "generated")
_NAME = re.compile(r"[\w][\w .@-]{0,39}")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    set_name TEXT NOT NULL CHECK (set_name IN ('baseline', 'generated')),
    pair INTEGER NOT NULL,
    match TEXT NOT NULL,
    topic TEXT,
    category TEXT,
    source_id TEXT,
    UNIQUE (pair, set_name)
);
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL DEFAULT 'study',
    created REAL NOT NULL
);
CREATE TABLE assignments (
    rater INTEGER NOT NULL REFERENCES raters(id),
    item TEXT NOT NULL REFERENCES items(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (rater, item),
    UNIQUE (rater, position)
);
CREATE TABLE ratings (
    rater INTEGER NOT NULL REFERENCES raters(id),
    item TEXT NOT NULL REFERENCES items(id),
    metric TEXT NOT NULL,
    value INTEGER NOT NULL,
    at REAL NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (rater, item, metric)
);
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rater INTEGER NOT NULL,
    item TEXT NOT NULL,
    metric TEXT NOT NULL,
    value INTEGER,
    at REAL NOT NULL,
    source TEXT NOT NULL
);
"""


def is_study_dir(path: Path | str) -> bool:
    return (Path(path) / STUDY_DB).is_file()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a rating acknowledged to the page survives a power cut too
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def check_rater_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ConfigError(f"rater name {name[:60]!r}: 1-40 letters, digits, spaces, '.', '@', '-' or '_'")
    return name


@dataclass(frozen=True)
class Rater:
    id: int
    name: str
    token: str
    source: str


class RatingError(ValueError):
    """A rating that cannot be stored: unknown item or metric, a value off the scale. Its message names it."""


class Study:
    """An open study directory. `Study.open(path)`; `create_study(...)` makes one."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.metrics: MetricSet = parse_metrics(json.loads(self.meta("metrics")), f"{path}/{STUDY_DB} metrics")

    @classmethod
    def open(cls, path: Path | str) -> Study:
        path = Path(path)
        if not is_study_dir(path):
            raise ConfigError(f"{path} is not an annotation study (no {STUDY_DB}): make one with `adaem annotate "
                              f"create RUN --out {path}`")
        conn = _connect(path / STUDY_DB)
        try:
            found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigError(f"{path / STUDY_DB}: not a readable study database ({exc})") from None
        if found is None or int(found[0]) != FORMAT:
            conn.close()
            raise ConfigError(f"{path / STUDY_DB}: study format {found[0] if found else '?'} is not {FORMAT}")
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            if default is None:
                raise ConfigError(f"{self.path / STUDY_DB}: no '{key}' in meta")
            return default
        return str(row[0])

    def raters(self) -> list[Rater]:
        return [Rater(*r) for r in self.conn.execute("SELECT id, name, token, source FROM raters ORDER BY id")]

    def rater_by_token(self, token: str) -> Rater | None:
        """The rater whose token this is; every token is compared in constant time, so timing tells nothing."""
        found = None
        for rater in self.raters():
            if hmac.compare_digest(rater.token.encode(), token.encode()):
                found = rater
        return found

    def is_admin(self, token: str) -> bool:
        return hmac.compare_digest(self.meta("admin_token").encode(), token.encode())

    def rater_items(self, rater: int) -> list[dict[str, Any]]:
        """The rater's items in their order: id, text and their own ratings so far (nothing else: no set, no pair)."""
        rows = self.conn.execute(
            "SELECT i.id, i.question FROM assignments a JOIN items i ON i.id = a.item WHERE a.rater = ? "
            "ORDER BY a.position", (rater,)).fetchall()
        own: dict[str, dict[str, int]] = {}
        for item, metric, value in self.conn.execute("SELECT item, metric, value FROM ratings WHERE rater = ?", (rater,)):
            own.setdefault(item, {})[metric] = value
        return [{"id": i, "text": q, "ratings": own.get(i, {})} for i, q in rows]

    def rated(self, rater: int) -> tuple[int, int]:
        """(items with every metric rated, items assigned) of one rater: the page's "132 / 600"."""
        total = self.conn.execute("SELECT COUNT(*) FROM assignments WHERE rater = ?", (rater,)).fetchone()[0]
        done = self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT item FROM ratings WHERE rater = ? GROUP BY item HAVING COUNT(*) >= ?)",
            (rater, len(self.metrics.metrics))).fetchone()[0]
        return int(done), int(total)

    def progress(self) -> list[dict[str, Any]]:
        """Per rater: items assigned, items with every metric rated, ratings, time of the last one."""
        out = []
        for r in self.raters():
            done, total = self.rated(r.id)
            count, last = self.conn.execute("SELECT COUNT(*), MAX(at) FROM ratings WHERE rater = ?", (r.id,)).fetchone()
            out.append({"rater": r.name, "source": r.source, "assigned": total, "complete": done, "ratings": count,
                        "last": last})
        return out

    def items(self) -> list[dict[str, Any]]:
        cols = ("id", "question", "set_name", "pair", "match", "topic", "category", "source_id")
        return [dict(zip(cols, r, strict=True))
                for r in self.conn.execute(f"SELECT {', '.join(cols)} FROM items ORDER BY pair, set_name")]

    def ratings(self) -> list[dict[str, Any]]:
        """Every current rating with its rater's name and the item's set and pair (for results and export)."""
        cols = ("rater", "item", "pair", "set_name", "topic", "question", "metric", "value", "at", "source")
        sql = ("SELECT r.name, g.item, i.pair, i.set_name, i.topic, i.question, g.metric, g.value, g.at, g.source "
               "FROM ratings g JOIN raters r ON r.id = g.rater JOIN items i ON i.id = g.item "
               "ORDER BY r.id, i.pair, i.set_name, g.metric")
        return [dict(zip(cols, row, strict=True)) for row in self.conn.execute(sql)]

    # -- writing -------------------------------------------------------------------------------------------
    def check_rating(self, item: str, metric: str, value: Any) -> int | None:
        """The value to store (None clears); RatingError naming what is wrong."""
        if metric not in self.metrics.keys():
            raise RatingError(f"unknown metric {metric!r} (metrics: {', '.join(self.metrics.keys())})")
        if value is None:
            return None
        scale = self.metrics.scale
        if isinstance(value, bool) or not isinstance(value, int) or not scale.min <= value <= scale.max:
            raise RatingError(f"rating {value!r} for {metric} is not a whole number from {scale.min} to {scale.max}")
        return value

    def set_rating(self, rater: int, item: str, metric: str, value: Any, source: str = "web") -> None:
        """Store (or with None, clear) one rating of an item assigned to the rater: committed before returning."""
        checked = self.check_rating(item, metric, value)
        assigned = self.conn.execute("SELECT 1 FROM assignments WHERE rater = ? AND item = ?", (rater, item)).fetchone()
        if assigned is None:
            raise RatingError(f"item {item[:40]!r} is not one of this rater's items")
        now = time.time()
        with self.transaction():
            if checked is None:
                self.conn.execute("DELETE FROM ratings WHERE rater = ? AND item = ? AND metric = ?", (rater, item, metric))
            else:
                self.conn.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                                  (rater, item, metric, checked, now, source))
            self.conn.execute("INSERT INTO history (rater, item, metric, value, at, source) VALUES (?, ?, ?, ?, ?, ?)",
                              (rater, item, metric, checked, now, source))

    def transaction(self) -> _Transaction:
        """One all-or-nothing write: `with study.transaction() as conn: ...`."""
        return _Transaction(self.conn)

    def add_rater(self, name: str, source: str = "study") -> Rater:
        name = check_rater_name(name)
        token = secrets.token_urlsafe(18)
        cur = self.conn.execute("INSERT INTO raters (name, token, source, created) VALUES (?, ?, ?, ?)",
                                (name, token, source, time.time()))
        return Rater(int(cur.lastrowid or 0), name, token, source)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back whole on any error (nothing half-written)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if kind is not None else "COMMIT")


def _assign(pairs: int, raters: int, per_item: int) -> list[list[int]]:
    """Each pair's raters: all of them, or `per_item` in rotation (both questions of a pair, the same raters)."""
    return [[(p * per_item + j) % raters for j in range(per_item)] for p in range(pairs)]


def create_study(source: Path | str, out: Path | str, *, baseline: Path | str | None = None, pairs: int = 300,
                 raters: int | list[str] = 5, per_item: int | None = None, metrics: Path | str | None = None,
                 seed: int = 0) -> tuple[Study, dict[str, Any]]:
    """A new study in `out` (which must not exist or be empty): `pairs` question pairs of `source` (a generate run
    or a question file) against `baseline` (default: the run's seed questions), shuffled per rater and blinded,
    each rater with a private token. Returns the open study and a summary of what was made."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} already exists and is not empty: a study is never overwritten; choose another")
    if pairs < 1:
        raise ConfigError(f"--pairs must be at least 1, got {pairs}")
    names = [f"rater-{i + 1}" for i in range(raters)] if isinstance(raters, int) else \
        [check_rater_name(n) for n in raters]
    if not names:
        raise ConfigError("--raters: at least 1 rater")
    if len(set(names)) != len(names):
        raise ConfigError(f"--rater-names: a name appears twice ({', '.join(names)})")
    per_item = per_item or len(names)
    if not 1 <= per_item <= len(names):
        raise ConfigError(f"--per-item must be from 1 to the {len(names)} raters, got {per_item}")
    metric_set, metrics_text = load_metrics(metrics)
    generated, generated_name = load_generated(source)
    base, baseline_name = load_baseline(source, baseline)
    made = match_pairs(base, generated, pairs, seed)
    if not made:
        raise ConfigError(f"no pairs: the baseline ({len(base)} questions) and the generated set ({len(generated)}) "
                          "share no question that could be paired (a question in both sets is left out)")
    created_dir = not out.exists()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn: sqlite3.Connection | None = None
    try:
        os.close(os.open(out / STUDY_DB, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = _connect(out / STUDY_DB)
        conn.executescript(_SCHEMA)
        with _Transaction(conn):
            _fill(conn, made, names, per_item, metric_set, seed, {
                "format": str(FORMAT), "created": str(time.time()), "source": str(source),
                "baseline_source": str(baseline) if baseline else "", "generated_name": generated_name,
                "baseline_name": baseline_name, "metrics": json.dumps(metric_set.as_data()), "seed": str(seed),
                "pairs_asked": str(pairs), "per_item": str(per_item), "admin_token": secrets.token_urlsafe(24)})
        conn.close()
        conn = None
        (out / "metrics.yaml").write_text(metrics_text, encoding="utf-8")
    except BaseException:
        if conn is not None:
            conn.close()
        if created_dir:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for name in (STUDY_DB, STUDY_DB + "-wal", STUDY_DB + "-shm", "metrics.yaml"):
                (out / name).unlink(missing_ok=True)
        raise
    notes = []
    in_both = len({norm_text(g.text) for g in generated} & {norm_text(b.text) for b in base})
    if in_both:
        notes.append(f"{in_both} generated question(s) are also baseline questions: left out (they cannot be blind)")
    if len(made) < pairs:
        notes.append(f"{len(made)} pairs, not {pairs}: the baseline has {len(base)} questions and the generated "
                     f"set {len(generated)}")
    study = Study.open(out)
    summary = {"pairs": len(made), "described": describe(made), "items": 2 * len(made), "raters": names,
               "per_rater": [p["assigned"] for p in study.progress()], "per_item": per_item, "generated": generated_name, "baseline": baseline_name,
               "metrics": metric_set.keys(), "notes": notes}
    return study, summary


def _fill(conn: sqlite3.Connection, made: list[Pair], names: list[str], per_item: int, metric_set: MetricSet,
          seed: int, meta: dict[str, str]) -> None:
    conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    ids: list[tuple[str, str]] = []
    for p, pair in enumerate(made):
        pair_ids = []
        for set_name, cand in (("baseline", pair.baseline), ("generated", pair.generated)):
            item_id = "q" + secrets.token_hex(6)  # random: an id says nothing of the set it belongs to
            conn.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (item_id, cand.text, set_name, p, pair.match, cand.topic, cand.category, cand.source_id))
            pair_ids.append(item_id)
        ids.append((pair_ids[0], pair_ids[1]))
    now = time.time()
    rater_ids = []
    for name in names:
        cur = conn.execute("INSERT INTO raters (name, token, source, created) VALUES (?, ?, 'study', ?)",
                           (name, secrets.token_urlsafe(18), now))
        rater_ids.append(int(cur.lastrowid or 0))
    mine: dict[int, list[str]] = {r: [] for r in range(len(names))}
    for p, chosen in enumerate(_assign(len(made), len(names), per_item)):
        for r in chosen:
            mine[r] += list(ids[p])
    for r, items in mine.items():
        random.Random(f"{seed}:{r}").shuffle(items)  # each rater's own order: pairs apart, sets mixed
        conn.executemany("INSERT INTO assignments VALUES (?, ?, ?)",
                         [(rater_ids[r], item, pos) for pos, item in enumerate(items)])
