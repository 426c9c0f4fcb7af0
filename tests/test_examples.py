"""The examples under examples/ run as a user would run them (issue 14: a notebook-style script that evaluates
two models on a DataFrame of questions and plots the profile). The examples on the documentation's pages and in
the README run as tests of their own (tests/docs_examples.py, collected by the root conftest.py)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_evaluate_two_models_example(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / "evaluate_two_models.py"), "--png", "p.png"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    scores = pd.read_csv(runs[0] / "scores.csv")
    assert set(scores.model) == {"mock/a", "mock/b"} and len(scores) == 2 * 10
    assert "benevolence" in r.stdout and "chart: p.png" in r.stdout
