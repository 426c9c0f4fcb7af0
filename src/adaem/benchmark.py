"""Question sets on disk: our JSONL, a CSV with a `question` column, or parquet (a HF `datasets` export).

One record type, `Question`, for every file format; a bad file is a ConfigError naming the line or column.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

TEXT_FIELDS = ("question", "text")


@dataclass
class Question:
    id: str
    text: str
    category: str | None = None
    country: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def question_id(text: str) -> str:
    return "q-" + hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def _from_row(row: dict[str, Any], where: str) -> Question | None:
    text = next((row[f] for f in TEXT_FIELDS if isinstance(row.get(f), str)), None)
    if text is None:
        raise ConfigError(f"{where}: no 'question' (or 'text') field")
    text = text.strip()
    if not text:
        return None
    known = {"id", *TEXT_FIELDS, "category", "country", "region"}
    return Question(
        id=str(row.get("id") or question_id(text)),
        text=text,
        category=row.get("category") or None,
        country=row.get("country") or row.get("region") or None,
        meta={k: v for k, v in row.items() if k not in known},
    )


def load_questions(path: Path | str) -> list[Question]:
    """Every question of a file; ConfigError for a missing file, a bad line, a missing column or no questions."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"benchmark file {path} does not exist")
    suffix = path.suffix.lower()
    rows: list[tuple[dict[str, Any], str]] = []
    if suffix in (".jsonl", ".json"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: not a JSON object ({exc.msg}): {line[:80]!r}") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{path}:{n}: expected a JSON object per line")
            rows.append((row, f"{path}:{n}"))
    elif suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            columns = reader.fieldnames or []
            if not any(f in columns for f in TEXT_FIELDS):
                raise ConfigError(f"{path} has no 'question' column (columns: {', '.join(columns) or 'none'})")
            rows = [(dict(r), f"{path}:{n + 2}") for n, r in enumerate(reader)]
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if not any(f in table.column_names for f in TEXT_FIELDS):
            raise ConfigError(f"{path} has no 'question' column (columns: {', '.join(table.column_names)})")
        rows = [(r, f"{path} row {n}") for n, r in enumerate(table.to_pylist())]
    else:
        raise ConfigError(f"{path}: unknown benchmark format '{suffix}': use .jsonl, .csv or .parquet")
    questions = [q for row, where in rows if (q := _from_row(row, where)) is not None]
    if not questions:
        raise ConfigError(f"benchmark file {path} holds no questions")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise ConfigError(f"{path}: question id '{q.id}' appears twice")
        seen.add(q.id)
    return questions
