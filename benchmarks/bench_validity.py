"""The validity suite (issue 24, SPEC §9): every test and interval adaem reports, measured by simulation with
adaem's own data shapes (`adaem.analysis.simulate`: topics of 8 questions, categories set per topic, regions
mostly per topic, model families, missing labels and translations), under the null and with a planted effect.

Prints, per test, its type-I error at α = 0.05 (target ≤ 0.07) and its power at the planted effect, and per
interval its coverage (target 0.92–0.98), with the number of tests or intervals counted. 500 simulations per
check measure a rate near 0.05 to about ±0.02. The README's table comes from this script.

    .venv/bin/python benchmarks/bench_validity.py               # every check, 500 simulations (~10 min, 2 cores)
    .venv/bin/python benchmarks/bench_validity.py 100 languages # fewer simulations, some checks
"""

from __future__ import annotations

import sys
import time

from adaem.analysis.validity import CHECKS, COVERAGE, TYPE_I_MAX, run_checks


def main(argv: list[str]) -> int:
    sims = int(argv[0]) if argv and argv[0].isdigit() else 500
    names = [a for a in argv if not a.isdigit()] or list(CHECKS)
    unknown = set(names) - set(CHECKS)
    if unknown:
        print(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
        return 2
    print("| analysis | measure | value | n | target | design |\n|---|---|---|---|---|---|")
    misses = 0
    for name in names:
        started = time.perf_counter()
        for m in run_checks(sims, [name]):
            target = (f"≤ {TYPE_I_MAX}" if m.what == "type-I error" else
                      f"{COVERAGE[0]}–{COVERAGE[1]}" if m.what == "coverage" else "–")
            mark = "" if m.ok is None else (" ✓" if m.ok else " ✗")
            misses += m.ok is False
            print(f"| {m.analysis} | {m.what} | {m.value:.3f}{mark} | {m.n} | {target} | {m.design} |", flush=True)
        print(f"<!-- {name}: {sims} simulations, {time.perf_counter() - started:.0f} s -->", flush=True)
    print(f"\n{misses} outside the targets")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
