"""The validity suite, small (issues 24 and 36): every test adaem shows keeps its type-I error near α and every
interval covers its true value, on simulated benchmarks with adaem's data shapes and the harder ones of issue 36
(topics of 3–10 questions, family × topic effects, 12 pairs for a human study). `benchmarks/bench_validity.py`
runs the same checks with 1,000 simulations for the README's table; here each check runs its registered fast
size (`validity.FAST`), and a row passes within 3 Monte-Carlo SEs of its target, which the analyses issue 24
replaced fail (questions taken as independent: category χ² 0.26, compare's Welch 0.23, rate CIs covering 0.83)
as do issue 36's (family similarity on the same questions 0.25 with identical profiles; annotate's percentile
interval over 12 pairs 0.91 is within 3 SEs here, measured in the bench). Rows recorded as failing (a removed
interval measured to show why) are skipped by name."""

from __future__ import annotations

import math

import pytest

from adaem.analysis.validity import CHECKS, COVERAGE, FAST, TYPE_I_MAX, Measured, run_checks

KNOWN = ("(removed", "no longer shown", "test inversion")  # reported with their measured coverage, not fixed


def _within(m: Measured, spread: float = 3.0) -> bool:
    """Within `spread` MC SEs of the target; the SE is at least a binomial one at the target over the simulations
    (a row whose every interval covered in 25 simulations has an SE of 0, not a coverage of 1 ± 0)."""
    at = 0.05 if m.what == "type-I error" else 0.95
    tol = spread * max(m.se if math.isfinite(m.se) else 0.0, math.sqrt(at * (1 - at) / max(m.sims, 1))) + 1e-9
    if m.what == "type-I error":
        return m.value - tol <= TYPE_I_MAX
    return COVERAGE[0] <= m.value + tol and m.value - tol <= COVERAGE[1]


@pytest.mark.parametrize("name", list(CHECKS))
def test_every_row_is_inside_its_target(name):
    rows = run_checks(FAST[name], [name], seed=7)
    assert rows
    for m in rows:
        if m.what == "power":
            assert m.value > TYPE_I_MAX, (m.analysis, m.design, "power", m.value)  # the planted effect is seen
        elif not any(k in m.analysis for k in KNOWN):
            assert _within(m), (m.analysis, m.design, m.what, m.value, m.se, m.n)


def test_a_check_registers_with_its_fast_size():
    from adaem.analysis.validity import Tally, check

    @check("_demo", fast=3)
    def check_demo(sims: int, seed: int = 0) -> list[Measured]:
        tally = Tally()
        for i in range(sims):
            tally.add([i % 2 == 0, True, False, float("nan")])  # NaN: not counted
        return [tally.row("demo", "coverage")]

    try:
        (row,) = run_checks(FAST["_demo"], ["_demo"])
        assert (row.value, row.n, row.sims) == (5 / 9, 9, 3) and row.se > 0
        assert row.ok is False  # 0.56 ± 0.11 misses 0.94–0.96 by more than one SE
    finally:
        CHECKS.pop("_demo")
        FAST.pop("_demo")
