"""Issue 14: adaem (Apache-2.0) needs no GPL package, core, embedded-model, test and documentation dependencies
alike."""

import runpy
from pathlib import Path

licences = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "licences.py"))


def test_no_installed_dependency_is_gpl():
    dists = licences["needed"]("adaem", ["local", "test", "docs"])
    assert {"numpy", "pydantic", "trueskill", "llama-cpp-python", "pytest"} <= set(dists)
    gpl = {k: licences["licence"](d) for k, d in dists.items() if licences["is_gpl"](licences["licence"](d))}
    assert not gpl


def test_the_gpl_detector():
    is_gpl = licences["is_gpl"]
    assert is_gpl("GPL-3.0") and is_gpl("AGPL-3.0-only") and is_gpl("GNU General Public License v3 (GPLv3)")
    assert not is_gpl("LGPL-2.1") and not is_gpl("GNU Lesser General Public License v3 (LGPLv3)")
    assert not is_gpl("Apache-2.0") and not is_gpl("MIT") and not is_gpl("BSD-3-Clause")
