"""The validity suite (issues 24 and 36, SPEC §9): every test and interval adaem shows, measured by simulation with
adaem's own data shapes and the harder ones of issue 36 (`adaem.analysis.validity`), under the null and with a
planted effect.

Prints, per test, its type-I error at α = 0.05 (target ≤ 0.06) and its power at the planted effect, and per
interval its coverage (target 0.94–0.96), each with its Monte-Carlo SE (over simulations) and the number of tests
or intervals counted; ✓ / ✗ say whether it is within one SE of its target. The README's table comes from this
script's output (benchmarks/results/validity/).

    .venv/bin/python benchmarks/bench_validity.py                  # every check, 1000 simulations
    .venv/bin/python benchmarks/bench_validity.py 100 rates retest # fewer simulations, some checks
"""

from __future__ import annotations

import sys
import time

from adaem.analysis.validity import CHECKS, COVERAGE, TYPE_I_MAX, run_checks


def main(argv: list[str]) -> int:
    sims = int(argv[0]) if argv and argv[0].isdigit() else 1000
    names = [a for a in argv if not a.isdigit()] or list(CHECKS)
    unknown = set(names) - set(CHECKS)
    if unknown:
        print(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
        return 2
    print("| analysis | measure | value ± MC SE | n | target | design |\n|---|---|---|---|---|---|")
    misses = 0
    for name in names:
        started = time.perf_counter()
        for m in run_checks(sims, [name]):
            target = (f"≤ {TYPE_I_MAX}" if m.what == "type-I error" else
                      f"{COVERAGE[0]}–{COVERAGE[1]}" if m.what == "coverage" else "–")
            mark = "" if m.ok is None else (" ✓" if m.ok else " ✗")
            misses += m.ok is False
            print(f"| {m.analysis} | {m.what} | {m.value:.3f} ± {m.se:.3f}{mark} | {m.n} | {target} | {m.design} |",
                  flush=True)
        print(f"<!-- {name}: {sims} simulations, {time.perf_counter() - started:.0f} s -->", flush=True)
    print(f"\n{misses} outside the targets")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
