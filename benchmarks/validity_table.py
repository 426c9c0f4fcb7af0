"""The README's validity table from bench_validity.py's output: the after file's rows, each with the before file's
figure for the same (analysis, measure, design) beside it ("–" where the old code had no such row).

    .venv/bin/python benchmarks/validity_table.py benchmarks/results/validity/after36-500.txt \
        benchmarks/results/validity/before36-500.txt
"""

from __future__ import annotations

import sys
from pathlib import Path


def rows(path: Path) -> list[list[str]]:
    out = []
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] not in ("analysis", "---"):
            out.append(cells)
    return out


def main(argv: list[str]) -> int:
    after = rows(Path(argv[0]))
    before = {(r[0], r[1], r[5]): r[2].split(" ± ")[0] for r in rows(Path(argv[1]))} if len(argv) > 1 else {}
    print("| analysis | measure | before | after ± MC SE | design |\n|---|---|---|---|---|")
    last = None
    for analysis, what, value, _n, _target, design in after:
        was = before.get((analysis, what, design), "–")
        shown = value.replace(" ✓", "").replace(" ✗", " ✗")
        bold = f"**{shown}**" if what != "power" and "✗" not in value else shown
        print(f"| {analysis if analysis != last else ''} | {what} | {was} | {bold} | {design} |")
        last = analysis
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
