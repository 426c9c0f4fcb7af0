"""A human-evaluation study: one directory holding one SQLite database (WAL, every rating its own commit).

    STUDY/
      study.sqlite   meta (sources, the design, the analysis plan and its hash, the order secret, admin token),
                     items (question, kind: study / practice / check; set and pair for study items, the expected
                     answer for practice and checks), raters (name, token), assignments (each rater's items in
                     their own order; practice items at negative positions), ratings (one row per rater, item and
                     metric: the current value), history (every change, undo included, never deleted), timing
                     (seconds each rater spent on each item)
      design.yaml    the design file the study was created with, as it was

Set membership (`set_name`) lives only in `items`; nothing a rater's token can reach reads it, nor the order secret
(see blinding.py). Tokens come from `secrets.token_urlsafe`; the directory is private to its owner (0700, its
files 0600).
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .blinding import feasible_gap, order_rng, spaced_order, spread_in
from .markdown import markdown_tree
from .metrics import MetricSet, StudyDesign, load_design, parse_design
from .pairs import Pair, describe, load_baseline, load_generated, match_pairs, norm_text
from .plan import AnalysisPlan, make_plan, plan_from_json

STUDY_DB = "study.sqlite"
FORMAT = 2
SETS = ("baseline", "generated")
KINDS = ("study", "practice", "check")
MIN_GAP = 10
MAX_SECONDS = 3600.0  # one report of time on an item: longer is a page left open, not time spent
_NAME = re.compile(r"[\w][\w .@-]{0,39}")
_ANY: Any = object()  # set_rating without an expected current value

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'study' CHECK (kind IN ('study', 'practice', 'check')),
    set_name TEXT CHECK (set_name IN ('baseline', 'generated')),
    pair INTEGER,
    match TEXT,
    topic TEXT,
    category TEXT,
    source_id TEXT,
    expected TEXT,
    feedback TEXT,
    CHECK ((kind = 'study') = (set_name IS NOT NULL AND pair IS NOT NULL)),
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
CREATE TABLE timing (
    rater INTEGER NOT NULL REFERENCES raters(id),
    item TEXT NOT NULL REFERENCES items(id),
    seconds REAL NOT NULL,
    visits INTEGER NOT NULL,
    PRIMARY KEY (rater, item)
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


class RatingConflict(RatingError):
    """The rating changed since the page last saw it (another open page of the same rater): the stored one wins."""

    def __init__(self, current: int | None):
        super().__init__("this rating was changed in another open page: showing the saved one")
        self.current = current


class Study:
    """An open study directory. `Study.open(path)`; `create_study(...)` makes one."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.design: StudyDesign = parse_design(json.loads(self.meta("design")), f"{path}/{STUDY_DB} design")
        self.metrics: MetricSet = self.design.metrics
        self.plan: AnalysisPlan = plan_from_json(self.meta("plan"), f"{path}/{STUDY_DB} plan")

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
            older = found is not None and int(found[0]) < FORMAT
            raise ConfigError(f"{path / STUDY_DB}: study format {found[0] if found else '?'} is not {FORMAT}"
                              + (": it was made by an older adaem whose orders a rater could replay; make the study "
                                 "anew with `adaem annotate create` (export its ratings first)" if older else ""))
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

    def _own_ratings(self, rater: int) -> dict[str, dict[str, int]]:
        own: dict[str, dict[str, int]] = {}
        for item, metric, value in self.conn.execute("SELECT item, metric, value FROM ratings WHERE rater = ?", (rater,)):
            own.setdefault(item, {})[metric] = value
        return own

    def rater_items(self, rater: int) -> list[dict[str, Any]]:
        """The rater's questions in their order (study items and attention checks alike): id, text and their own
        ratings so far, nothing else (no set, no pair, no kind: a check looks like any other question)."""
        rows = self.conn.execute(
            "SELECT i.id, i.question FROM assignments a JOIN items i ON i.id = a.item WHERE a.rater = ? "
            "AND a.position >= 0 ORDER BY a.position", (rater,)).fetchall()
        own = self._own_ratings(rater)
        return [{"id": i, "text": q, "ratings": own.get(i, {})} for i, q in rows]

    def practice_items(self, rater: int) -> list[dict[str, Any]]:
        """The rater's practice items, first to last: id, text, their ratings, the expected answer and the feedback
        (as a Markdown tree), which the page shows once the item is rated."""
        rows = self.conn.execute(
            "SELECT i.id, i.question, i.expected, i.feedback FROM assignments a JOIN items i ON i.id = a.item "
            "WHERE a.rater = ? AND a.position < 0 ORDER BY a.position", (rater,)).fetchall()
        own = self._own_ratings(rater)
        return [{"id": i, "text": q, "ratings": own.get(i, {}), "expected": json.loads(e or "{}"),
                 "feedback": markdown_tree(f or "")} for i, q, e, f in rows]

    def version(self, rater: int) -> int:
        """A number that grows with every change to the rater's ratings (from any page, or an import)."""
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM history WHERE rater = ?", (rater,)).fetchone()[0])

    def rated(self, rater: int) -> tuple[int, int]:
        """(items with every metric rated, items assigned) of one rater, practice left out: the page's "132 / 600"."""
        total = self.conn.execute("SELECT COUNT(*) FROM assignments WHERE rater = ? AND position >= 0",
                                  (rater,)).fetchone()[0]
        done = self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT r.item FROM ratings r JOIN assignments a ON a.rater = r.rater AND "
            "a.item = r.item WHERE r.rater = ? AND a.position >= 0 GROUP BY r.item HAVING COUNT(*) >= ?)",
            (rater, len(self.metrics.metrics))).fetchone()[0]
        return int(done), int(total)

    def progress(self) -> list[dict[str, Any]]:
        """Per rater: items assigned, items with every metric rated, ratings, time of the last one, attention checks
        passed of those answered, and the median seconds spent on a question."""
        checks = self.check_results()
        seconds = self.seconds_per_item()
        out = []
        for r in self.raters():
            done, total = self.rated(r.id)
            count, last = self.conn.execute(
                "SELECT COUNT(*), MAX(g.at) FROM ratings g JOIN items i ON i.id = g.item WHERE g.rater = ? "
                "AND i.kind != 'practice'", (r.id,)).fetchone()
            mine = sorted(seconds.get(r.name, {}).values())
            median = mine[len(mine) // 2] if len(mine) % 2 else (sum(mine[len(mine) // 2 - 1:len(mine) // 2 + 1]) / 2
                                                                  if mine else None)
            c = checks.get(r.name, {"passed": 0, "answered": 0, "assigned": 0})
            out.append({"rater": r.name, "source": r.source, "assigned": total, "complete": done, "ratings": count,
                        "last": last, "checks_passed": c["passed"], "checks_answered": c["answered"],
                        "checks_assigned": c["assigned"], "median_seconds": median})
        return out

    def items(self) -> list[dict[str, Any]]:
        """The study's questions (practice and attention checks left out), by pair."""
        cols = ("id", "question", "set_name", "pair", "match", "topic", "category", "source_id")
        return [dict(zip(cols, r, strict=True))
                for r in self.conn.execute(f"SELECT {', '.join(cols)} FROM items WHERE kind = 'study' "
                                           "ORDER BY pair, set_name")]

    def ratings(self) -> list[dict[str, Any]]:
        """Every current rating of a study question with its rater's name, the item's set and pair and the seconds
        the rater spent on it (for results and export)."""
        cols = ("rater", "item", "pair", "set_name", "topic", "question", "metric", "value", "at", "source", "seconds")
        sql = ("SELECT r.name, g.item, i.pair, i.set_name, i.topic, i.question, g.metric, g.value, g.at, g.source, "
               "t.seconds FROM ratings g JOIN raters r ON r.id = g.rater JOIN items i ON i.id = g.item "
               "LEFT JOIN timing t ON t.rater = g.rater AND t.item = g.item WHERE i.kind = 'study' "
               "ORDER BY r.id, i.pair, i.set_name, g.metric")
        return [dict(zip(cols, row, strict=True)) for row in self.conn.execute(sql)]

    def check_results(self) -> dict[str, dict[str, Any]]:
        """Per rater name: attention checks assigned, answered (every expected metric rated), passed (every expected
        rating given), and the answers to the failed ones."""
        checks = {i: (q, json.loads(e)) for i, q, e in
                  self.conn.execute("SELECT id, question, expected FROM items WHERE kind = 'check'")}
        if not checks:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for r in self.raters():
            assigned = [i for (i,) in self.conn.execute(
                "SELECT a.item FROM assignments a JOIN items i ON i.id = a.item WHERE a.rater = ? AND i.kind = 'check'",
                (r.id,))]
            own = self._own_ratings(r.id)
            answered = passed = 0
            failed = []
            for item in assigned:
                question, expected = checks[item]
                given = own.get(item, {})
                if all(k in given for k in expected):
                    answered += 1
                    if all(given[k] == v for k, v in expected.items()):
                        passed += 1
                    else:
                        failed.append({"question": question, "expected": expected,
                                       "given": {k: given[k] for k in expected}})
            out[r.name] = {"assigned": len(assigned), "answered": answered, "passed": passed, "failed": failed}
        return out

    def seconds_per_item(self) -> dict[str, dict[str, float]]:
        """rater name -> study or check item -> seconds spent on it (as the page measured: visible time)."""
        out: dict[str, dict[str, float]] = {}
        for name, item, seconds in self.conn.execute(
                "SELECT r.name, t.item, t.seconds FROM timing t JOIN raters r ON r.id = t.rater JOIN items i "
                "ON i.id = t.item WHERE i.kind != 'practice'"):
            out.setdefault(name, {})[item] = float(seconds)
        return out

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

    def set_rating(self, rater: int, item: str, metric: str, value: Any, source: str = "web",
                   expected: Any = _ANY) -> tuple[int, int]:
        """Store (or with None, clear) one rating of an item assigned to the rater, committed before returning;
        (version before, version after). With `expected` (the value the page believes is stored, None for none)
        a different stored value raises RatingConflict and stores nothing: the stored rating wins."""
        checked = self.check_rating(item, metric, value)
        now = time.time()
        with self.transaction():
            assigned = self.conn.execute("SELECT 1 FROM assignments WHERE rater = ? AND item = ?",
                                         (rater, item)).fetchone()
            if assigned is None:
                raise RatingError(f"item {item[:40]!r} is not one of this rater's items")
            before = self.version(rater)
            if expected is not _ANY:
                row = self.conn.execute("SELECT value FROM ratings WHERE rater = ? AND item = ? AND metric = ?",
                                        (rater, item, metric)).fetchone()
                current = None if row is None else int(row[0])
                if current != expected:
                    raise RatingConflict(current)
            if checked is None:
                self.conn.execute("DELETE FROM ratings WHERE rater = ? AND item = ? AND metric = ?", (rater, item, metric))
            else:
                self.conn.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                                  (rater, item, metric, checked, now, source))
            cur = self.conn.execute("INSERT INTO history (rater, item, metric, value, at, source) VALUES (?, ?, ?, ?, ?, ?)",
                                    (rater, item, metric, checked, now, source))
        return before, int(cur.lastrowid or 0)

    def add_time(self, rater: int, item: str, seconds: Any) -> None:
        """Add the seconds a page was showing an item (one visit, at most MAX_SECONDS) to the rater's time on it."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_SECONDS:
            raise RatingError(f"seconds must be a number above 0 and at most {MAX_SECONDS:g}")
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM assignments WHERE rater = ? AND item = ?", (rater, item)).fetchone() is None:
                raise RatingError(f"item {item[:40]!r} is not one of this rater's items")
            self.conn.execute("INSERT INTO timing VALUES (?, ?, ?, 1) ON CONFLICT (rater, item) DO UPDATE SET "
                              "seconds = seconds + excluded.seconds, visits = visits + 1", (rater, item, float(seconds)))

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


def _private_file(path: Path, text: str) -> None:
    """Write a new file readable by its owner only (0600 from the start, whatever the umask)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def create_study(source: Path | str, out: Path | str, *, baseline: Path | str | None = None, pairs: int = 300,
                 raters: int | list[str] = 5, per_item: int | None = None, design: Path | str | None = None,
                 metrics: Path | str | None = None, seed: int | None = None, min_gap: int = MIN_GAP,
                 min_overlap: int | None = None) -> tuple[Study, dict[str, Any]]:
    """A new study in `out` (which must not exist or be empty): `pairs` question pairs of `source` (a generate run
    or a question file) against `baseline` (default: the run's own seed questions), each rater with a private token
    and their own order (blind: see blinding.py; the two questions of a pair at least `min_gap` apart), the design
    (`design`, or its older name `metrics`: the paper's when None) and the analysis plan frozen in. `seed` makes the
    choice of pairs reproducible; the raters' orders always come from the study's secret. Returns the open study
    and a summary of what was made."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} already exists and is not empty: a study is never overwritten; choose another")
    if pairs < 1:
        raise ConfigError(f"--pairs must be at least 1, got {pairs}")
    if min_gap < 1:
        raise ConfigError(f"--min-gap must be at least 1 (the two questions of a pair are never adjacent), got {min_gap}")
    names = [f"rater-{i + 1}" for i in range(raters)] if isinstance(raters, int) else \
        [check_rater_name(n) for n in raters]
    if not names:
        raise ConfigError("--raters: at least 1 rater")
    if len(set(names)) != len(names):
        raise ConfigError(f"--rater-names: a name appears twice ({', '.join(names)})")
    per_item = per_item or len(names)
    if not 1 <= per_item <= len(names):
        raise ConfigError(f"--per-item must be from 1 to the {len(names)} raters, got {per_item}")
    if design is not None and metrics is not None:
        raise ConfigError("give --design or --metrics (its older name), not both")
    study_design, design_text = load_design(design if design is not None else metrics)
    settings = dict(study_design.analysis)
    if min_overlap is not None:
        settings["min_overlap"] = min_overlap
    plan = make_plan(settings, "analysis")
    secret = secrets.token_hex(32)
    generated, generated_name = load_generated(source)
    base, baseline_name = load_baseline(source, baseline)
    pair_seed: int | str = seed if seed is not None else secret
    made = match_pairs(base, generated, pairs, pair_seed)
    if not made:
        raise ConfigError(f"no pairs: the baseline ({len(base)} questions) and the generated set ({len(generated)}) "
                          "share no question that could be paired (a question in both sets is left out)")
    chosen = _assign(len(made), len(names), per_item)
    per_rater_pairs = [sum(r in c for c in chosen) for r in range(len(names))]
    if min(per_rater_pairs) < 2:
        lone = names[per_rater_pairs.index(min(per_rater_pairs))]
        raise ConfigError(f"rater {lone} would get {min(per_rater_pairs)} pair(s): the two questions of a pair can only "
                          "be kept apart among two or more pairs; use more --pairs or a larger --per-item")
    extra = {norm_text(x.question) for x in study_design.practice + study_design.checks}
    clash = extra & {norm_text(c.text) for p in made for c in (p.baseline, p.generated)}
    if clash:
        raise ConfigError(f"the design's practice or check question {sorted(q or '' for q in clash)[0][:60]!r} is also a "
                          "study question: give it another text")
    created_dir = not out.exists()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn: sqlite3.Connection | None = None
    try:
        os.close(os.open(out / STUDY_DB, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = _connect(out / STUDY_DB)
        conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")  # one commit for the whole schema
        with _Transaction(conn):
            gaps = _fill(conn, made, chosen, names, study_design, secret, min_gap, {
                "format": str(FORMAT), "created": str(time.time()), "source": str(source),
                "baseline_source": str(baseline) if baseline else "", "generated_name": generated_name,
                "baseline_name": baseline_name, "design": json.dumps(study_design.as_data()),
                "plan": plan.canonical(), "plan_sha256": plan.sha256(), "secret": secret,
                "pair_seed": "" if seed is None else str(seed), "min_gap": str(min_gap),
                "pairs_asked": str(pairs), "per_item": str(per_item), "raters_planned": json.dumps(names),
                "admin_token": secrets.token_urlsafe(24)})
        conn.close()
        conn = None
        _private_file(out / "design.yaml", design_text)
    except BaseException:
        if conn is not None:
            conn.close()
        if created_dir:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for name in (STUDY_DB, STUDY_DB + "-wal", STUDY_DB + "-shm", "design.yaml"):
                (out / name).unlink(missing_ok=True)
        raise
    notes = []
    in_both = len({norm_text(g.text) for g in generated} & {norm_text(b.text) for b in base})
    if in_both:
        notes.append(f"{in_both} generated question(s) are also baseline questions: left out (they cannot be blind)")
    if len(made) < pairs:
        notes.append(f"{len(made)} pairs, not {pairs}: the baseline has {len(base)} questions and the generated "
                     f"set {len(generated)}")
    if min(gaps) < min_gap:
        notes.append(f"the two questions of a pair are at least {min(gaps)} questions apart, not {min_gap}: a rater "
                     f"with k pairs can keep at most k − 1 between them")
    study = Study.open(out)
    summary = {"pairs": len(made), "described": describe(made), "items": 2 * len(made), "raters": names,
               "per_rater": [p["assigned"] for p in study.progress()], "per_item": per_item,
               "generated": generated_name, "baseline": baseline_name, "metrics": study_design.metrics.keys(),
               "practice": len(study_design.practice), "checks": len(study_design.checks), "min_gap": min(gaps),
               "plan_sha256": plan.sha256(), "notes": notes}
    return study, summary


def _fill(conn: sqlite3.Connection, made: list[Pair], chosen: list[list[int]], names: list[str], design: StudyDesign,
          secret: str, min_gap: int, meta: dict[str, str]) -> list[int]:
    """Items, raters and each rater's order; the gap each rater's order keeps."""
    conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    ids: list[tuple[str, str]] = []
    for p, pair in enumerate(made):
        pair_ids = []
        for set_name, cand in (("baseline", pair.baseline), ("generated", pair.generated)):
            item_id = _new_id()  # random: an id says nothing of the set it belongs to
            conn.execute("INSERT INTO items (id, question, kind, set_name, pair, match, topic, category, source_id) "
                         "VALUES (?, ?, 'study', ?, ?, ?, ?, ?, ?)",
                         (item_id, cand.text, set_name, p, pair.match, cand.topic, cand.category, cand.source_id))
            pair_ids.append(item_id)
        ids.append((pair_ids[0], pair_ids[1]))
    practice_ids: list[str] = []
    check_ids: list[str] = []
    for kind, extras, out in (("practice", design.practice, practice_ids), ("check", design.checks, check_ids)):
        for x in extras:
            item_id = _new_id()
            conn.execute("INSERT INTO items (id, question, kind, expected, feedback) VALUES (?, ?, ?, ?, ?)",
                         (item_id, x.question, kind, json.dumps(x.expected), x.feedback or None))
            out.append(item_id)
    now = time.time()
    gaps = []
    for r, name in enumerate(names):
        cur = conn.execute("INSERT INTO raters (name, token, source, created) VALUES (?, ?, 'study', ?)",
                           (name, secrets.token_urlsafe(18), now))
        rater = int(cur.lastrowid or 0)
        mine = [ids[p] for p, who in enumerate(chosen) if r in who]
        rng = order_rng(secret, f"order:{name}")
        order = spread_in(spaced_order(mine, min_gap, rng), check_ids, rng)
        gaps.append(feasible_gap(len(mine), min_gap))
        rows = [(rater, item, pos) for pos, item in enumerate(order)]
        rows += [(rater, item, pos - len(practice_ids)) for pos, item in enumerate(practice_ids)]
        conn.executemany("INSERT INTO assignments VALUES (?, ?, ?)", rows)
    return gaps


def _new_id() -> str:
    return "q" + secrets.token_hex(6)

