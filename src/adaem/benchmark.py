"""Question sets on disk: a JSON array, JSON lines, a CSV with a `question` column, or parquet (a HF `datasets`
export).

One record type, `Question`, for every file format; a bad file is a ConfigError naming the line or column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

TEXT_FIELDS = ("question", "text")
_TRANSLATION = re.compile(r"question_[A-Za-z]{2}")  # question_zh: the user's own translation, which wins


@dataclass
class Question:
    id: str
    text: str
    category: str | None = None
    country: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    topic: str | None = None  # the seed topic it was generated from (benchmark.jsonl of `generate`): analyses resample topics
    translations: dict[str, str] = field(default_factory=dict)  # language -> the question in it (user-given)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def question_id(text: str) -> str:
    return "q-" + hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def _is_translation(key: object) -> bool:
    return isinstance(key, str) and _TRANSLATION.fullmatch(key) is not None


def _from_row(row: dict[str, Any], where: str) -> Question | None:
    text = next((row[f] for f in TEXT_FIELDS if isinstance(row.get(f), str)), None)
    if text is None:
        raise ConfigError(f"{where}: no 'question' (or 'text') field")
    text = text.strip()
    if not text:
        return None
    known = {"id", *TEXT_FIELDS, "category", "country", "region", "topic"}
    translations = {k.removeprefix("question_").lower(): v.strip() for k, v in row.items()
                    if _is_translation(k) and isinstance(v, str) and v.strip()}
    return Question(
        id=str(row.get("id") or question_id(text)),
        text=text,
        category=row.get("category") or None,
        country=row.get("country") or row.get("region") or None,
        meta={k: v for k, v in row.items() if k not in known and not _is_translation(k)},
        translations=translations,
        topic=str(row["topic"]) if row.get("topic") not in (None, "") else None,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a BOM (Excel's CSV export) is not part of the first column
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded): save it as UTF-8, "
                          f"or give a parquet file") from None


def _json_rows(path: Path, text: str) -> list[tuple[dict[str, Any], str]]:
    """A JSON array of objects (or an object holding one under `questions` / `data`), else JSON lines."""
    if path.suffix.lower() == ".json" and text.lstrip()[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None  # perhaps JSON lines under a .json name
        if isinstance(data, dict):
            listed = next((data[k] for k in ("questions", "data") if isinstance(data.get(k), list)), None)
            if listed is None and not any(f in data for f in TEXT_FIELDS):
                raise ConfigError(f"{path}: a JSON object without a 'questions' list: give an array of objects "
                                  f"with a 'question' field, or {{\"questions\": [...]}}")
            data = listed if listed is not None else [data]
        if isinstance(data, list):
            bad = next((i for i, row in enumerate(data) if not isinstance(row, dict)), None)
            if bad is not None:
                raise ConfigError(f"{path}: item {bad} of the array is not a JSON object")
            return [(row, f"{path} item {i}") for i, row in enumerate(data)]
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: expected an array of objects, got a JSON {type(data).__name__}")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not a JSON object ({exc.msg}): {line[:80]!r}") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{n}: expected a JSON object per line")
        rows.append((row, f"{path}:{n}"))
    return rows


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def _short(where: str, path: Path) -> str:
    """'file.csv:3' → 'line 3', 'file.parquet row 3' → 'row 3': the file is named once, at the start."""
    return where.replace(f"{path}:", "line ", 1).replace(f"{path} ", "", 1)


def load_questions(path: Path | str, *, dedupe: bool = False, keep_repeats: bool = False) -> list[Question]:
    """Every question of a file: a JSON array of objects, JSON lines, CSV/TSV with a `question` column, or
    parquet (a Hugging Face `datasets` export). ConfigError (one line) for a missing file, a file that is not
    UTF-8 text, a bad line, a missing column, no questions, or repeated questions (same text up to case and
    spacing), which it names; `dedupe` keeps the first of each instead, `keep_repeats` keeps them all (the
    diversity statistics count repeats)."""
    repeats = "drop" if dedupe else "keep" if keep_repeats else "refuse"
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"benchmark file {path} does not exist")
    suffix = path.suffix.lower()
    rows: list[tuple[dict[str, Any], str]] = []
    if suffix in (".jsonl", ".json"):
        rows = _json_rows(path, _read_text(path))
    elif suffix in (".csv", ".tsv"):
        try:
            reader = csv.DictReader(io.StringIO(_read_text(path), newline=""), delimiter="\t" if suffix == ".tsv" else ",")
            columns = reader.fieldnames or []
            if not any(f in columns for f in TEXT_FIELDS):
                raise ConfigError(f"{path} has no 'question' column (columns: {', '.join(columns) or 'none'})")
            rows = [(dict(r), f"{path}:{n + 2}") for n, r in enumerate(reader)]
        except csv.Error as exc:
            raise ConfigError(f"{path}: not a readable CSV file ({exc})") from None
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise ConfigError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0][:120]})") from None
        if not any(f in table.column_names for f in TEXT_FIELDS):
            raise ConfigError(f"{path} has no 'question' column (columns: {', '.join(table.column_names)})")
        rows = [(r, f"{path} row {n}") for n, r in enumerate(table.to_pylist())]
    else:
        raise ConfigError(f"{path}: unknown benchmark format '{suffix}': use .json, .jsonl, .csv or .parquet")
    located = [(q, where) for row, where in rows if (q := _from_row(row, where)) is not None]
    if not located:
        raise ConfigError(f"benchmark file {path} holds no questions")
    places: dict[str, list[str]] = {}
    kept: list[Question] = []
    for q, where in located:
        key = _normalised(q.text)
        if key not in places or repeats == "keep":
            kept.append(q)
        places.setdefault(key, []).append(where)
    repeated = {k: v for k, v in places.items() if len(v) > 1}
    if repeated and repeats == "refuse":
        texts: dict[str, str] = {}
        for q, _ in located:
            texts.setdefault(_normalised(q.text), q.text)
        shown = "; ".join(f"{texts[k][:60]!r} at {', '.join(_short(w, path) for w in v[:4])}"
                          + (f" and {len(v) - 4} more" if len(v) > 4 else "")
                          for k, v in list(repeated.items())[:3])
        more = f" (and {len(repeated) - 3} more questions)" if len(repeated) > 3 else ""
        raise ConfigError(f"{path}: {len(repeated)} question(s) appear more than once: {shown}{more}. Add --dedupe "
                          f"to keep the first of each")
    if repeats == "keep":
        return kept
    seen: set[str] = set()
    for q in kept:
        if q.id in seen:
            raise ConfigError(f"{path}: question id '{q.id}' appears twice")
        seen.add(q.id)
    return kept
