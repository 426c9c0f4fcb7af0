"""The public face: `import adaem; adaem.evaluate(...)` from a script, from inside a running event loop (Jupyter),
twice in a row, with questions given as data; the other functions and `load_run`."""

import asyncio
import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import adaem

QUESTIONS = ["Should zoos be abolished?", "Should voting be compulsory?", "Should payday loans be banned?"]


def test_evaluate_from_a_fresh_interpreter_twice_and_inside_a_running_loop(tmp_path):
    """Issue 14: a new run directory per call (no "already holds a run"), and the sync call works where an event
    loop is already running, as in a notebook cell."""
    script = textwrap.dedent('''
        import asyncio, json, sys
        import adaem

        first = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?"],
                               models=["mock/a", "mock/b"], judge="mock/j", evaluation__bootstrap=10)
        second = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?"],
                                models=["mock/a", "mock/b"], judge="mock/j", evaluation__bootstrap=10)

        async def notebook_cell():  # a sync call under a running loop, as Jupyter runs cells
            return adaem.evaluate(["Should zoos be abolished?"], models=["mock/a", "mock/b"], judge="mock/j")

        third = asyncio.run(notebook_cell())
        print(json.dumps([str(r.run_dir) for r in (first, second, third)]))
        print(json.dumps({"shape": list(first.profile().shape), "answers": len(first.answers),
                          "same": first.profile().round(6).equals(second.profile().round(6))}))
    ''')
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    dirs, facts = (json.loads(line) for line in r.stdout.strip().splitlines()[-2:])
    assert len(set(dirs)) == 3 and all((tmp_path / d / "scores.csv").exists() for d in dirs)
    assert facts == {"shape": [2, 10], "answers": 4, "same": True}
    assert "adaem: evaluate run directory runs/evaluate-" in r.stderr


def test_results_match_the_run_files_and_load_run_reads_them_back(tmp_path):
    frame = pd.DataFrame({"question": QUESTIONS, "category": ["science", "politics", "economics"]})
    result = adaem.evaluate(frame, ["mock/a", "mock/b", "mock/c"], judge="mock/j", out=tmp_path / "ev",
                            evaluation__bootstrap=10)
    on_disk = pd.read_csv(tmp_path / "ev" / "scores.csv")
    assert result.scores.score.round(6).tolist() == on_disk.score.round(6).tolist()
    assert len(result.answers) == 9 and set(result.breakdowns) == {"category"}
    loaded = adaem.load_run(tmp_path / "ev")
    assert loaded.profile().round(6).equals(result.profile().round(6)) and len(loaded.answers) == 9
    again = adaem.evaluate(frame, ["mock/a", "mock/b", "mock/c"], judge="mock/j", out=tmp_path / "ev",
                           resume=True, evaluation__bootstrap=10)
    assert again.profile().round(6).equals(result.profile().round(6))


async def test_async_twins_from_async_code(tmp_path):
    result = await adaem.evaluate_async(QUESTIONS[:2], ["mock/a", "mock/b"], judge="mock/j", out=tmp_path / "a",
                                        evaluation__bootstrap=0)
    assert result.profile().shape == (2, 10)
    cmp = await adaem.compare_async(QUESTIONS, [{"question": "Should cars be banned from city centres?"},
                                                {"question": "Should homework be abolished?"}],
                                    models=["mock/a", "mock/b"], judge="mock/j", out=tmp_path / "c")
    assert list(cmp.summary.set) == ["set-1", "set-2"] and cmp.run_dir == tmp_path / "c"
    assert adaem.load_run(tmp_path / "c").summary.shape[0] == 2


def test_generate_stats_reliability_prime_and_load_run(tmp_path):
    from adaem.models.providers.mock import register_mock, unregister_mock

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import mock_generate

    register_mock("gen", mock_generate.generator)
    try:
        gen = adaem.generate(["mock/a", "mock/b"], generators="mock/gen", judge="mock/j", budget=2,
                             out=tmp_path / "g", generation__arms=3, generation__depth=0)
    finally:
        unregister_mock("gen")
    assert len(gen.benchmark) == 2 and {"question", "p2_score", "p2_coherence"} <= set(gen.benchmark.columns)
    assert adaem.load_run(tmp_path / "g").summary["pulls"] == 2
    table = adaem.stats(QUESTIONS, gen.run_dir / "benchmark.jsonl", similarity=False)
    assert list(table.questions) == [3, 2] and table.name.iloc[0] == "set-1"
    ev = adaem.evaluate(QUESTIONS * 1, ["mock/a", "mock/b"], judge="mock/j", out=tmp_path / "e", evaluation__bootstrap=0)
    rel = adaem.reliability(ev.run_dir, folds=2, out=tmp_path / "rel")
    assert rel.summary["folds"] == 2
    pr = adaem.prime(QUESTIONS, "mock/a", dimensions=["benevolence"], limit=3, judge="mock/j", out=tmp_path / "p")
    assert set(pr.effects.relation) == {"target", "same group", "opposite group"}
    assert adaem.load_run(tmp_path / "p").effects.shape == pr.effects.shape


def test_bad_settings_name_the_field(tmp_path):
    with pytest.raises(adaem.ConfigError, match="evaluation.bootstrap"):
        adaem.evaluate(QUESTIONS, ["mock/a"], judge="mock/j", out=tmp_path / "x", evaluation__bootstrap=-1)
    with pytest.raises(adaem.ConfigError, match="no questions"):
        adaem.evaluate([], ["mock/a"], judge="mock/j", out=tmp_path / "y")
    with pytest.raises(adaem.ConfigError, match="not an adaem run"):
        adaem.load_run(tmp_path)


def test_version_and_typing_marker():
    from importlib.resources import files

    assert adaem.__version__ and adaem.__version__ != "0+unknown"
    assert files("adaem").joinpath("py.typed").is_file()
    assert asyncio.iscoroutinefunction(adaem.generate_async)
