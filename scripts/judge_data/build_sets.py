"""The labelled real answers as judge-check sets (issue 37): one JSONL per theory, and Cohen's κ between annotators.

    python scripts/judge_data/build_sets.py ANSWERS.jsonl LABELS_DIR OUT_DIR [--provisional]

LABELS_DIR holds `<theory>_A.jsonl`, `<theory>_B.jsonl` (two annotators, independent instructions) and
`<theory>_adjudicated.jsonl` (the decision where they disagreed, or the label of an answer only one annotator labelled); a label file's last line for a key wins. Each
output line: id, text (the whole answer, as the judge sees it under `unit: answer`), points (for `--by-point`),
values (the gold: where A and B agree, their labels; elsewhere the adjudication's), labels_a, labels_b, question,
model, temperature, kind. `--provisional` writes annotator A's labels as gold where no adjudication exists yet (to
start the judge's calls, which do not depend on the gold, before the labels are final).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

THEORIES = {"schwartz10": ["self_direction", "stimulation", "hedonism", "achievement", "power", "security",
                           "conformity", "tradition", "benevolence", "universalism"],
            "mft": ["care", "fairness", "loyalty", "authority", "sanctity", "liberty"]}


def key_of(answer: dict) -> str:
    return f"{answer['question_id']}|{answer['model']}|{answer['temperature']}"


def read_labels(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                out[row["key"]] = sorted(set(row["values"]))
    return out


def kappa(a: list[bool], b: list[bool]) -> float | None:
    n = len(a)
    if not n:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("answers", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--provisional", action="store_true")
    args = parser.parse_args()
    answers = [json.loads(line) for line in args.answers.read_text().splitlines() if line.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for theory, ids in THEORIES.items():
        a, b = read_labels(args.labels / f"{theory}_A.jsonl"), read_labels(args.labels / f"{theory}_B.jsonl")
        adjudicated = read_labels(args.labels / f"{theory}_adjudicated.jsonl")
        rows, missing = [], 0
        for i, ans in enumerate(answers):
            key = key_of(ans)
            if key in a and key in b:
                gold = a[key] if a[key] == b[key] else adjudicated.get(key)
            elif key in adjudicated:
                gold = adjudicated[key]
            elif args.provisional:
                gold = a.get(key, [])
            else:
                gold = None
            if gold is None:
                if not args.provisional:
                    missing += 1
                    continue
                gold = a.get(key, [])
            rows.append({"id": f"ans{i:04d}", "key": key, "text": ans["text"],
                         "points": [f"{p['point']}: {p['justification']}" if p["justification"] else p["point"]
                                    for p in ans["points"]],
                         "values": gold, "labels_a": a.get(key), "labels_b": b.get(key),
                         "question": ans["question"], "stance": ans["stance"], "model": ans["model"],
                         "temperature": ans["temperature"], "kind": ans["kind"]})
        (args.out / f"real_answers_{theory}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        both = [k for k in a if k in b]
        per_value = {v: kappa([v in a[k] for k in both], [v in b[k] for k in both]) for v in ids}
        every = kappa([v in a[k] for k in both for v in ids], [v in b[k] for k in both for v in ids])
        counts = {v: sum(v in r["values"] for r in rows) for v in ids}
        report[theory] = {"answers": len(rows), "without_adjudication": missing, "double_labelled": len(both),
                          "kappa_all": every, "kappa_per_value": per_value, "gold_counts": counts,
                          "no_value": sum(not r["values"] for r in rows),
                          "disagreements": sum(a[k] != b[k] for k in both)}
    (args.out / "agreement.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
