"""Ratings as CSV: export a study's ratings (one row per rating, with the question, its set and pair), and import
ratings made in another tool.

An import reads a long file (`rater`, an item, `metric`, `value`) or a wide one (`rater`, an item, one column
per metric: its key or its name). The item is `item_id` (this study's ids, as exported) or `question` (the exact
text, up to case and spacing). Raters are matched by name; a new name becomes a new rater (source "import").
The whole file is checked first: any bad row is one ConfigError naming its line and column, and nothing is
stored; otherwise every rating is stored in one transaction.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .study import RatingError, Study, check_rater_name

EXPORT_COLUMNS = ("rater", "item_id", "pair", "set", "topic", "question", "metric", "value", "at", "source", "seconds")
_RATER = ("rater", "annotator", "coder", "worker", "worker_id", "user")
_ITEM = ("item_id", "item")
_TEXT = ("question", "text")
_VALUE = ("value", "rating", "score")


def export_csv(study: Study, out: Path | str | None = None) -> str:
    """Every current rating of a study question as CSV text (written to `out` when given); `seconds` is the time the
    rater's page showed the question (summed over visits; empty for ratings imported or made before timing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in study.ratings():
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(r["at"])) + "Z"
        seconds = "" if r["seconds"] is None else f"{r['seconds']:.1f}"  # the rater's time on the question
        writer.writerow([r["rater"], r["item"], r["pair"], r["set_name"], r["topic"] or "", r["question"], r["metric"],
                         r["value"], at, r["source"], seconds])
    text = buffer.getvalue()
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _column(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[n] for n in names if n in columns), None)


def _value(raw: str, where: str, study: Study, metric: str) -> int:
    scale = study.metrics.scale
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text[:30]!r} is not a rating (a whole number from {scale.min} to "
                          f"{scale.max})") from None
    if not number.is_integer() or not scale.min <= number <= scale.max:
        raise ConfigError(f"{where}: rating {text} for {metric} is outside the scale {scale.min}..{scale.max} "
                          "(whole numbers only)")
    return int(number)


def read_import(study: Study, path: Path | str) -> list[tuple[str, str, str, int, int]]:
    """(rater name, item id, metric, value, line) of every rating in the file; ConfigError for the first bad row."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        header = reader.fieldnames or []
        columns = {h.strip().casefold().replace(" ", "_"): h for h in header if h}
        rater_col = _column(columns, _RATER)
        item_col, text_col = _column(columns, _ITEM), _column(columns, _TEXT)
        if rater_col is None:
            raise ConfigError(f"{path}: no rater column (one of: {', '.join(_RATER)}); columns: {', '.join(header) or 'none'}")
        if item_col is None and text_col is None:
            raise ConfigError(f"{path}: no item column (item_id, or question with the question's text); columns: "
                              f"{', '.join(header)}")
        metric_col, value_col = columns.get("metric"), _column(columns, _VALUE)
        by_name = {m.key: m.key for m in study.metrics.metrics}
        by_name.update({m.name.casefold().replace(" ", "_"): m.key for m in study.metrics.metrics})
        wide = {columns[c]: by_name[c] for c in columns if c in by_name}
        if metric_col is None and not wide:
            raise ConfigError(f"{path}: no ratings: give 'metric' and 'value' columns, or one column per metric "
                              f"({', '.join(study.metrics.keys())})")
        if metric_col is not None and value_col is None:
            raise ConfigError(f"{path}: a 'metric' column needs a 'value' (or 'rating') column beside it")
        items = study.items()
        ids = {it["id"] for it in items}
        texts = {_norm(it["question"]): it["id"] for it in items}
        out: list[tuple[str, str, str, int, int]] = []
        seen: dict[tuple[str, str, str], int] = {}
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise ConfigError(f"{path}:{n}: more cells than the header has columns")
            if not any((v or "").strip() for v in row.values()):
                continue
            rater = (row.get(rater_col) or "").strip()
            try:
                check_rater_name(rater)
            except ConfigError as exc:
                raise ConfigError(f"{path}:{n}: column {rater_col}: {exc}") from None
            if item_col is not None and (row.get(item_col) or "").strip():
                item = (row.get(item_col) or "").strip()
                if item not in ids:
                    raise ConfigError(f"{path}:{n}: column {item_col}: no item {item[:40]!r} in this study")
            else:
                question = _norm(row.get(text_col or "", "") or "")
                if question not in texts:
                    raise ConfigError(f"{path}:{n}: column {text_col}: no question of this study reads "
                                      f"{(row.get(text_col or '') or '')[:60]!r}")
                item = texts[question]
            if metric_col is not None:
                raw_metric = (row.get(metric_col) or "").strip().casefold().replace(" ", "_")
                if raw_metric not in by_name:
                    raise ConfigError(f"{path}:{n}: column {metric_col}: unknown metric {raw_metric!r} "
                                      f"(metrics: {', '.join(study.metrics.keys())})")
                cells = [(by_name[raw_metric], row.get(value_col or "") or "", value_col)]
            else:
                cells = [(key, row.get(col) or "", col) for col, key in wide.items()]
            for metric, raw, col in cells:
                if not raw.strip():
                    if metric_col is not None:
                        raise ConfigError(f"{path}:{n}: column {col}: empty rating")
                    continue  # wide files leave a metric a rater skipped empty
                value = _value(raw, f"{path}:{n}: column {col}", study, metric)
                key = (rater, item, metric)
                if key in seen:
                    raise ConfigError(f"{path}:{n}: rater {rater!r} rates this item's {metric} again (first on line "
                                      f"{seen[key]})")
                seen[key] = n
                out.append((rater, item, metric, value, n))
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a readable CSV file ({exc})") from None
    if not out:
        raise ConfigError(f"{path}: holds no ratings")
    return out


def import_csv(study: Study, path: Path | str) -> dict[str, Any]:
    """Store every rating of the file (all or nothing): counts of ratings added and replaced, and new raters."""
    rows = read_import(study, path)
    raters = {r.name: r.id for r in study.raters()}
    new = sorted({name for name, *_ in rows if name not in raters})
    existing = {(r, i, m): v for r, i, m, v in study.conn.execute("SELECT rater, item, metric, value FROM ratings")}
    added = replaced = 0
    now = time.time()
    with study.transaction() as conn:
        for name in new:
            raters[name] = study.add_rater(name, source="import").id
        for name, item, metric, value, line in rows:
            try:
                study.check_rating(item, metric, value)
            except RatingError as exc:  # checked above already; kept so a store never holds what the page refuses
                raise ConfigError(f"{path}:{line}: {exc}") from None
            key = (raters[name], item, metric)
            if key in existing:
                replaced += existing[key] != value
            else:
                added += 1
            conn.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, 'import')", (*key, value, now))
            conn.execute("INSERT INTO history (rater, item, metric, value, at, source) VALUES (?, ?, ?, ?, ?, 'import')",
                         (*key, value, now))
    return {"ratings": len(rows), "added": added, "replaced": replaced, "new_raters": new}
