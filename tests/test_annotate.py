"""`adaem annotate`: the agreement statistics against published and hand-computed values and a loop-by-loop
re-implementation, their behaviour under simulated nulls, pairing, the study database, CSV import/export, the
results, the CLI and the report. The rating server and page are in test_annotate_server.py."""

import itertools
import json
import os
import sqlite3
import stat
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from adaem.annotate.agreement import (
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    mean_pairwise_kappa,
    rater_agreement,
)
from adaem.annotate.comparison import compare_sets, item_means, sign_flip_p
from adaem.annotate.metrics import load_metrics, parse_metrics
from adaem.annotate.pairs import Candidate, load_baseline, match_pairs
from adaem.annotate.ratings_csv import export_csv, import_csv
from adaem.annotate.results import annotate_results
from adaem.annotate.study import RatingError, Study, create_study
from adaem.errors import ConfigError

HERE = Path(__file__).parent
NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers × 12 units, missing values; the
# paper gives α = 0.743 nominal, 0.815 ordinal, 0.849 interval (units 1-12 as columns, observers A-D as rows).
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]).T
# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, 5 categories, κ = 0.210.
FLEISS_COUNTS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                 [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def _from_counts(counts: list[list[int]]) -> np.ndarray:
    return np.array([[c + 1 for c, k in enumerate(row) for _ in range(k)] for row in counts], float)


# -- agreement: known values -------------------------------------------------------------------------------
def test_krippendorff_alpha_reproduces_the_published_worked_example():
    cats = [1, 2, 3, 4, 5]
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, cats, "interval") == pytest.approx(0.849, abs=5e-4)


def test_fleiss_kappa_reproduces_the_worked_example():
    assert fleiss_kappa(_from_counts(FLEISS_COUNTS), [1, 2, 3, 4, 5]) == pytest.approx(0.210, abs=5e-4)


def test_weighted_cohen_kappa_by_hand():
    # A = 1 1 2 3 3 3, B = 1 2 2 3 2 1. Margins A (2, 1, 3), B (2, 3, 1); expected cell = rA·cB / 6.
    # unweighted: po = 3/6, pe = (4 + 3 + 3)/36 → κ = (1/2 − 10/36)/(1 − 10/36) = 8/26
    # linear (w = |i−j|/2): observed 0.5 + 0.5 + 1 = 2; expected 0.5·(6+2+1+9)/6 + (2+6)/6 = 17/6 → 1 − 12/17 = 5/17
    # quadratic (w = ((i−j)/2)²): observed 0.25 + 0.25 + 1 = 1.5; expected 0.25·18/6 + 8/6 = 25/12 → 1 − 18/25 = 7/25
    a, b = np.array([1, 1, 2, 3, 3, 3.0]), np.array([1, 2, 2, 3, 2, 1.0])
    assert cohen_kappa(a, b, [1, 2, 3], "none") == pytest.approx(8 / 26)
    assert cohen_kappa(a, b, [1, 2, 3], "linear") == pytest.approx(5 / 17)
    assert cohen_kappa(a, b, [1, 2, 3], "quadratic") == pytest.approx(7 / 25)
    # items one rater skipped are left out; order of raters does not matter
    assert cohen_kappa(np.append(a, NAN), np.append(b, 2), [1, 2, 3]) == pytest.approx(7 / 25)
    assert cohen_kappa(b, a, [1, 2, 3], "linear") == pytest.approx(5 / 17)


def test_degenerate_agreement():
    same = np.tile(np.array([[1.0], [2.0], [3.0], [2.0]]), (1, 4))
    assert mean_pairwise_kappa(same, [1, 2, 3])[0] == pytest.approx(1.0)
    assert fleiss_kappa(same, [1, 2, 3]) == pytest.approx(1.0)
    assert krippendorff_alpha(same, [1, 2, 3]) == pytest.approx(1.0)
    constant = np.full((5, 3), 2.0)  # nothing varies: nothing to agree on; NaN, never a made-up number
    assert np.isnan(mean_pairwise_kappa(constant, [1, 2, 3])[0])
    assert np.isnan(fleiss_kappa(constant, [1, 2, 3])) and np.isnan(krippendorff_alpha(constant, [1, 2, 3]))
    lonely = np.array([[1.0, NAN], [NAN, 2.0]])  # no item rated twice
    assert np.isnan(krippendorff_alpha(lonely, [1, 2, 3])) and np.isnan(fleiss_kappa(lonely, [1, 2, 3]))
    with pytest.raises(ValueError, match="not one of the categories"):
        fleiss_kappa(np.array([[1.0, 4.0]]), [1, 2, 3])


# -- agreement: a second, loop-by-loop implementation of the definitions ------------------------------------
def _alpha_by_pairs(matrix: np.ndarray, cats: list[int]) -> float:
    """Krippendorff's ordinal α straight from its definition: every ordered pair of values within a unit,
    weighted 1/(m_u − 1), against every ordered pair of pairable values."""
    units = [[v for v in row if not np.isnan(v)] for row in matrix]
    units = [u for u in units if len(u) >= 2]
    values = [v for u in units for v in u]
    n = len(values)
    freq = {c: values.count(c) for c in cats}

    def delta(c, k):
        lo, hi = sorted((cats.index(c), cats.index(k)))
        return (sum(freq[cats[g]] for g in range(lo, hi + 1)) - (freq[c] + freq[k]) / 2) ** 2

    observed = sum(delta(u[i], u[j]) / (len(u) - 1) for u in units for i in range(len(u)) for j in range(len(u)) if i != j)
    expected = sum(delta(values[i], values[j]) for i in range(n) for j in range(n) if i != j)
    return 1 - (n - 1) * observed / expected


def _kappa_by_loops(a, b, cats, power):
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not (np.isnan(x) or np.isnan(y))]
    n, k = len(pairs), len(cats)

    def w(x, y):
        return (abs(cats.index(x) - cats.index(y)) / (k - 1)) ** power

    observed = sum(w(x, y) for x, y in pairs) / n
    expected = sum(w(x, y) for x, _ in pairs for _, y in pairs) / n**2
    return 1 - observed / expected


def test_statistics_match_loop_implementations_on_random_data_with_gaps():
    rng = np.random.default_rng(7)
    for _ in range(5):
        truth = rng.integers(1, 4, 40)
        m = np.clip(truth[:, None] + rng.integers(-1, 2, (40, 4)) * (rng.random((40, 4)) < 0.4), 1, 3).astype(float)
        m[rng.random(m.shape) < 0.2] = NAN
        assert krippendorff_alpha(m, [1, 2, 3], "ordinal") == pytest.approx(_alpha_by_pairs(m, [1, 2, 3]), abs=1e-12)
        for power, name in ((1, "linear"), (2, "quadratic")):
            assert cohen_kappa(m[:, 0], m[:, 1], [1, 2, 3], name) == pytest.approx(
                _kappa_by_loops(m[:, 0], m[:, 1], [1, 2, 3], power), abs=1e-12)


# -- agreement and comparison under simulation --------------------------------------------------------------
def _study_ratings(rng, n_items, n_raters, noise, shift=0.0, bias=None):
    """Ratings 1-3 of items with a latent quality, raters adding their own noise (and optionally a leniency)."""
    latent = rng.normal(shift, 0.8, n_items)
    bias = np.zeros(n_raters) if bias is None else bias
    return np.clip(np.round(2 + latent[:, None] + bias + rng.normal(0, noise, (n_items, n_raters))), 1, 3)


def test_independent_random_raters_agree_at_chance():
    rng = np.random.default_rng(0)
    stats = np.array([[mean_pairwise_kappa(m, [1, 2, 3])[0], fleiss_kappa(m, [1, 2, 3]),
                       krippendorff_alpha(m, [1, 2, 3])]
                      for m in (rng.integers(1, 4, (300, 5)).astype(float) for _ in range(40))])
    assert np.abs(stats.mean(0)).max() < 0.01  # κ, Fleiss' κ, α all centre on 0
    assert np.abs(stats).max() < 0.08


def test_the_paired_test_holds_its_level_under_the_null():
    """300 simulated studies with no difference between the sets (100 pairs, 5 raters with leniencies): the
    sign-flip test at α = 0.05 rejects 0.03-0.07 of them."""
    rng = np.random.default_rng(1)
    p = []
    for _ in range(300):
        bias = rng.normal(0, 0.3, 5)
        base = item_means(_study_ratings(rng, 100, 5, 0.6, bias=bias))
        gen = item_means(_study_ratings(rng, 100, 5, 0.6, bias=bias))
        p.append(sign_flip_p(gen - base, permutations=999, seed=int(rng.integers(1 << 30))))
    rate = np.mean(np.array(p) <= 0.05)
    assert 0.03 <= rate <= 0.07, rate


def test_the_paired_test_finds_a_real_difference():
    rng = np.random.default_rng(2)
    base = item_means(_study_ratings(rng, 100, 5, 0.6))
    gen = item_means(_study_ratings(rng, 100, 5, 0.6, shift=0.4))
    assert sign_flip_p(gen - base) < 0.001


def test_sign_flip_p_exact_cases():
    assert sign_flip_p(np.array([1.0] * 5)) == pytest.approx(2 / 32)  # the two extreme sign vectors of 32
    assert sign_flip_p(np.zeros(20)) == 1.0
    assert sign_flip_p(np.array([NAN, 1.0, 1.0])) == pytest.approx(0.5)
    assert np.isnan(sign_flip_p(np.array([])))
    exact = np.array([0.4, -0.2, 1.0, 0.6, 0.2, 0.8, -0.4, 1.0, 0.2, 0.6])
    flips = np.array(list(itertools.product((-1, 1), repeat=10)))
    assert sign_flip_p(exact) == pytest.approx(np.mean(np.abs(flips @ exact) >= abs(exact.sum()) - 1e-9))


def test_bootstrap_intervals_cover_the_true_means():
    """200 simulated studies of 150 pairs: each set's 95% CI covers the population mean 0.92-0.98 of the time."""
    rng = np.random.default_rng(3)
    big = item_means(_study_ratings(np.random.default_rng(99), 200_000, 5, 0.6))
    truth = big.mean()
    covered = []
    for i in range(200):
        c = compare_sets(item_means(_study_ratings(rng, 150, 5, 0.6)), item_means(_study_ratings(rng, 150, 5, 0.6)),
                         resamples=1000, permutations=200, seed=i)
        covered += [c.baseline_ci[0] <= truth <= c.baseline_ci[1], c.generated_ci[0] <= truth <= c.generated_ci[1]]
    assert 0.92 <= np.mean(covered) <= 0.98, np.mean(covered)


def test_an_outlier_rater_is_flagged_and_equal_raters_are_not():
    rng = np.random.default_rng(4)
    false_alarms = 0
    for trial in range(10):
        mats = [_study_ratings(rng, 200, 5, 0.5) for _ in range(3)]
        false_alarms += int(rater_agreement(mats, [1, 2, 3], resamples=100, seed=trial).flagged.any())
        for m in mats:
            m[:, 2] = rng.integers(1, 4, 200)  # rater 3 answers at random
        flagged = rater_agreement(mats, [1, 2, 3], resamples=100, seed=trial).flagged
        assert flagged.tolist() == [False, False, True, False, False]
    assert false_alarms <= 1
    two = rater_agreement([_study_ratings(rng, 50, 2, 0.5)], [1, 2, 3])
    assert not two.flagged.any()  # with two raters there is no "rest"


def test_compare_sets_gain_and_pairs():
    base = np.array([2.0, 2.0, 1.0, NAN])
    gen = np.array([3.0, 2.0, 2.0, 3.0])
    c = compare_sets(base, gen, resamples=500, seed=0)
    assert c.baseline == pytest.approx(5 / 3) and c.generated == pytest.approx(2.5)
    assert c.gain == pytest.approx((2.5 - 5 / 3) / (5 / 3))
    assert c.pairs == 3 and c.difference == pytest.approx(2 / 3)
    assert c.baseline_items == 3 and c.generated_items == 4
    assert c.gain_ci[0] <= c.gain <= c.gain_ci[1]


# -- metrics -----------------------------------------------------------------------------------------------
def test_the_paper_metrics_and_a_users_own(tmp_path):
    metrics, text = load_metrics()
    assert metrics.keys() == ["rationality", "controversy", "value_elicitation"]
    assert metrics.scale.points == [1, 2, 3] and metrics.scale.labels[3] == "High"
    assert "Potential to elicit opposing views" in metrics.metrics[1].definition and "Appendix C.10" in text
    own = tmp_path / "mine.yaml"
    own.write_text("scale: {min: 0, max: 4}\nmetrics:\n  - {key: clarity, name: Clarity, definition: Easy to read.}\n")
    assert load_metrics(own)[0].scale.points == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("data, fragment", [
    ({"scale": {"min": 1, "max": 12}, "metrics": []}, "within 0..9"),
    ({"scale": {"min": 1, "max": 3}, "metrics": [{"key": "Bad Key", "name": "x", "definition": "y"}]}, "metrics[0].key"),
    ({"scale": {"min": 1, "max": 3}, "metrics": [{"key": "a", "name": "x"}]}, "metrics[0].definition"),
    ({"scale": {"min": 1, "max": 3}, "metrics": [{"key": "a", "name": "x", "definition": "y"}] * 2}, "appears twice"),
    ({"scale": {"min": 1, "max": 3, "labels": {5: "x"}}, "metrics": [{"key": "a", "name": "x", "definition": "y"}]},
     "outside 1..3"),
    ({"scale": {"min": 1, "max": 3}, "metric": []}, "unknown field"),
])
def test_bad_metrics_are_one_clear_error(data, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_metrics(data)


# -- pairing ----------------------------------------------------------------------------------------------
def _cands(texts, topics, cats=None):
    return [Candidate(t, tp, (cats or [None] * len(texts))[i]) for i, (t, tp) in enumerate(zip(texts, topics, strict=True))]


def test_pairs_by_topic_first_spread_over_topics_then_category_then_any():
    base = _cands(["b-zoo", "b-tax", "b-gun", "b-x"], ["zoos", "Taxes ", "guns", None], ["c1", "c2", "c3", "c1"])
    gen = _cands([f"g-zoo{i}" for i in range(3)] + ["g-tax", "g-other", "g-far"],
                 ["zoos"] * 3 + ["taxes", "none", "none"], ["c1"] * 3 + ["c2", "c1", "c9"])
    pairs = match_pairs(base, gen, 10, seed=0)
    kinds = {p.baseline.text: p.match for p in pairs}
    assert kinds["b-zoo"] == "topic" and kinds["b-tax"] == "topic"  # topic matched up to case and spacing
    assert kinds["b-x"] == "category"  # c1 is left among the generated (a second zoo question or g-other)
    assert kinds["b-gun"] == "none"
    assert len(pairs) == 4 and len({p.generated.text for p in pairs}) == 4  # no question in two pairs
    two = match_pairs(base, gen, 2, seed=0)  # a cut keeps as many topics as it can
    assert {p.baseline.text for p in two} == {"b-zoo", "b-tax"}


def test_a_question_in_both_sets_is_left_out():
    pairs = match_pairs(_cands(["Same?", "B?"], ["t", "u"]), _cands(["same? ", "G?"], ["t", "u"]), 5)
    assert [(p.baseline.text, p.generated.text) for p in pairs] == [("B?", "G?")]


@pytest.fixture(scope="module")
def generate_run(tmp_path_factory):
    """A real (mock-model) generate run: 3 seed arms, 1 pull of 2 questions."""
    sys.path.insert(0, str(HERE))
    import mock_generate

    from adaem.generation.job import generate
    from adaem.models.providers.mock import register_mock, unregister_mock

    register_mock("gen", mock_generate.generator)
    try:
        out = tmp_path_factory.mktemp("gen") / "run"
        generate(mock_generate.config(Namespace(explorers="mock/a,mock/b", budget=1, tau=-100.0)), out)
    finally:
        unregister_mock("gen")
    return out


def test_a_study_from_a_generate_run_pairs_its_questions_with_its_own_seeds(generate_run, tmp_path):
    seeds = [json.loads(x) for x in (generate_run / "outputs" / "seed_scores.jsonl").read_text().splitlines()]
    questions = [json.loads(x) for x in (generate_run / "benchmark.jsonl").read_text().splitlines()]
    study, summary = create_study(generate_run, tmp_path / "study", pairs=300, raters=3, seed=1)
    with study:
        items = study.items()
        by_pair = {}
        for it in items:
            by_pair.setdefault(it["pair"], {})[it["set_name"]] = it
        assert summary["pairs"] == len(by_pair) == min(len(seeds), len(questions))
        for pair in by_pair.values():
            base, gen = pair["baseline"], pair["generated"]
            assert base["question"] in {s["question"] for s in seeds}
            assert gen["question"] in {q["question"] for q in questions}
            src = next(q for q in questions if q["question"] == gen["question"])
            if base["match"] == "topic":
                assert base["topic"] == src["topic"]
        assert sum(p["baseline"]["match"] == "topic" for p in by_pair.values()) == len({q["topic"] for q in questions})
        assert summary["baseline"] == f"seed questions ({generate_run.name})"
        assert any("not 300" in n for n in summary["notes"])


def test_baseline_falls_back_to_the_shipped_seeds_for_a_question_file(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text("question,topic\nShould zoos close early?,zoos\n")
    cands, name = load_baseline(f, None)
    assert len(cands) == 308 and "shipped" in name


# -- the study database -----------------------------------------------------------------------------------
def _question_file(tmp_path: Path, n: int = 12, prefix: str = "G") -> Path:
    path = tmp_path / f"{prefix}.jsonl"
    path.write_text("".join(json.dumps({"question": f"{prefix} question {i}?", "topic": f"topic {i}"}) + "\n"
                            for i in range(n)))
    return path


@pytest.fixture
def study(tmp_path):
    gen = _question_file(tmp_path, 12, "Generated")
    base = _question_file(tmp_path, 12, "Baseline")
    s, _ = create_study(gen, tmp_path / "study", baseline=base, pairs=10, raters=["ann", "bob", "cy"])
    yield s
    s.close()


def test_a_study_is_private_shuffled_and_blind(study, tmp_path):
    path = study.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path / "study.sqlite").st_mode) == 0o600
    items = study.items()
    assert len(items) == 20 and all(it["match"] == "topic" for it in items)
    raters = study.raters()
    assert [r.name for r in raters] == ["ann", "bob", "cy"] and len({r.token for r in raters}) == 3
    assert all(len(r.token) >= 24 for r in raters) and len(study.meta("admin_token")) >= 32
    orders = [[it["id"] for it in study.rater_items(r.id)] for r in raters]
    assert all(sorted(o) == sorted(it["id"] for it in items) for o in orders)  # everyone rates everything...
    assert len({tuple(o) for o in orders}) == 3  # ...each in their own order
    seen = study.rater_items(raters[0].id)[0]
    assert set(seen) == {"id", "text", "ratings"}  # what a rater's page is given: no set, no pair, no topic
    assert not any(word in seen["id"] for word in ("base", "gen", "seed"))


def test_ratings_are_checked_and_committed_at_once(study):
    ann = study.raters()[0]
    item = study.rater_items(ann.id)[0]["id"]
    study.set_rating(ann.id, item, "controversy", 3)
    other = sqlite3.connect(study.path / "study.sqlite")  # another process's view: already on disk
    assert other.execute("SELECT value FROM ratings WHERE item = ?", (item,)).fetchone() == (3,)
    for value, fragment in ((4, "not a whole number from 1 to 3"), (0, "from 1 to 3"), ("2", "not a whole number"),
                            (2.5, "not a whole number"), (True, "not a whole number")):
        with pytest.raises(RatingError, match=fragment):
            study.set_rating(ann.id, item, "controversy", value)
    with pytest.raises(RatingError, match="unknown metric"):
        study.set_rating(ann.id, item, "beauty", 2)
    with pytest.raises(RatingError, match="not one of this rater's items"):
        study.set_rating(ann.id, "q-nope", "controversy", 2)
    study.set_rating(ann.id, item, "controversy", None)  # undo clears it; the history keeps both
    assert other.execute("SELECT COUNT(*) FROM ratings").fetchone() == (0,)
    assert [v for (v,) in other.execute("SELECT value FROM history ORDER BY id")] == [3, None]
    assert study.rated(ann.id) == (0, 20)


def test_create_refuses_to_overwrite_and_bad_settings(tmp_path, study):
    gen = _question_file(tmp_path, 3, "G2")
    with pytest.raises(ConfigError, match="not empty"):
        create_study(gen, study.path)
    with pytest.raises(ConfigError, match="--per-item"):
        create_study(gen, tmp_path / "x", raters=2, per_item=3)
    with pytest.raises(ConfigError, match="rater name"):
        create_study(gen, tmp_path / "x", raters=["ok", "<script>"])
    with pytest.raises(ConfigError, match="no such run directory or question file"):
        create_study(tmp_path / "missing.jsonl", tmp_path / "x")
    assert not (tmp_path / "x").exists()  # nothing half-made is left behind


def test_per_item_assigns_both_questions_of_a_pair_to_the_same_raters(tmp_path):
    s, summary = create_study(_question_file(tmp_path, 9), tmp_path / "s", baseline=_question_file(tmp_path, 9, "B"),
                              pairs=9, raters=3, per_item=2)
    with s:
        assert summary["per_rater"] == [12, 12, 12]
        items = {it["id"]: it for it in s.items()}
        who: dict = {}
        for r in s.raters():
            for it in s.rater_items(r.id):
                item = items[it["id"]]
                who.setdefault((item["pair"], item["set_name"]), set()).add(r.id)
        assert all(len(v) == 2 for v in who.values())
        assert all(who[(p, "baseline")] == who[(p, "generated")] for p in range(9))


# -- CSV export and import --------------------------------------------------------------------------------
def test_export_then_import_into_a_fresh_copy_round_trips(study, tmp_path):
    ann, bob = study.raters()[:2]
    for r, v in ((ann, 1), (bob, 3)):
        for it in study.rater_items(r.id)[:4]:
            for m in study.metrics.keys():
                study.set_rating(r.id, it["id"], m, v)
    csv_path = tmp_path / "ratings.csv"
    export_csv(study, csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "rater,item_id,pair,set,topic,question,metric,value,at,source,seconds" and len(lines) == 1 + 24
    before = study.ratings()
    with study.conn:
        study.conn.execute("DELETE FROM ratings")
    counts = import_csv(study, csv_path)
    assert counts == {"ratings": 24, "added": 24, "replaced": 0, "new_raters": []}
    assert [(r["rater"], r["item"], r["metric"], r["value"]) for r in study.ratings()] == \
        [(r["rater"], r["item"], r["metric"], r["value"]) for r in before]


def test_import_of_another_tools_wide_export_by_question_text(study, tmp_path):
    items = study.items()
    f = tmp_path / "wide.csv"
    f.write_text("Annotator,Question,Rationality,Controversy,Value Elicitation\n"
                 f"dora,{items[0]['question'].upper()},3,2,\n"
                 f"dora,  {items[1]['question']} ,1,1,1\n", encoding="utf-8-sig")
    counts = import_csv(study, f)
    assert counts["ratings"] == 5 and counts["new_raters"] == ["dora"]
    dora = next(r for r in study.raters() if r.name == "dora")
    assert dora.source == "import"
    got = {(r["item"], r["metric"]): r["value"] for r in study.ratings() if r["rater"] == "dora"}
    assert got[(items[0]["id"], "rationality")] == 3 and (items[0]["id"], "value_elicitation") not in got


@pytest.mark.parametrize("body, fragment", [
    ("rater,item_id,metric,value\nann,{item},controversy,4\n", r"wide\.csv:2: column value: rating 4 for controversy is outside the scale 1\.\.3"),
    ("rater,item_id,metric,value\nann,{item},controversy,high\n", r":2: column value: 'high' is not a rating"),
    ("rater,item_id,metric,value\nann,{item},controversy,2\nann,{item},controversy,3\n", r":3: .*again \(first on line 2\)"),
    ("rater,item_id,metric,value\nann,q-unknown,controversy,2\n", r":2: column item_id: no item 'q-unknown'"),
    ("rater,item_id,metric,value\nann,{item},beauty,2\n", r":2: column metric: unknown metric 'beauty'"),
    ("rater,question,metric,value\nann,Is this in the study?,controversy,2\n", r":2: column question: no question"),
    ("who,item_id,metric,value\nann,{item},controversy,2\n", r"no rater column"),
    ("rater,metric,value\nann,controversy,2\n", r"no item column"),
    ("rater,item_id,colour\nann,{item},2\n", r"no ratings"),
    ("rater,item_id,metric,value\nann,{item},controversy,2,extra\n", r":2: more cells than the header"),
    ("rater,item_id,metric,value\n", r"holds no ratings"),
])
def test_a_malformed_import_is_one_clear_error(study, tmp_path, body, fragment):
    first = study.rater_items(study.raters()[0].id)[0]["id"]
    f = tmp_path / "wide.csv"
    f.write_text(body.format(item=first))
    with pytest.raises(ConfigError, match=fragment):
        import_csv(study, f)


def test_a_bad_row_after_good_ones_stores_nothing(study, tmp_path):
    ann = study.raters()[0]
    items = [it["id"] for it in study.rater_items(ann.id)]
    study.set_rating(ann.id, items[0], "rationality", 2)
    f = tmp_path / "late.csv"
    f.write_text(f"rater,item_id,metric,value\nann,{items[0]},rationality,3\nnew,{items[1]},controversy,1\n"
                 f"ann,{items[2]},controversy,9\n")
    before = study.ratings()
    with pytest.raises(ConfigError, match=r"late\.csv:4: column value: rating 9"):
        import_csv(study, f)
    assert study.ratings() == before and [r.name for r in study.raters()] == ["ann", "bob", "cy"]


# -- results ----------------------------------------------------------------------------------------------
def test_results_by_hand_on_a_tiny_study(tmp_path):
    s, _ = create_study(_question_file(tmp_path, 2), tmp_path / "s", baseline=_question_file(tmp_path, 2, "B"),
                        pairs=2, raters=2, min_overlap=2)
    with s:
        items = {(it["pair"], it["set_name"]): it["id"] for it in s.items()}
        ann, bob = s.raters()
        plan = {  # (pair, set) → (ann, bob) on every metric
            (0, "baseline"): (1, 2), (0, "generated"): (3, 3), (1, "baseline"): (2, 2), (1, "generated"): (2, 3)}
        for key, (a, b) in plan.items():
            for m in s.metrics.keys():
                s.set_rating(ann.id, items[key], m, a)
                s.set_rating(bob.id, items[key], m, b)
        res = annotate_results(s, resamples=200)
    row = res.table.iloc[0]
    # baseline questions 1.5 and 2.0 → 1.75; generated 3.0 and 2.5 → 2.75; gain 1/1.75; differences 1.5 and 0.5
    assert row["baseline"] == pytest.approx(1.75) and row["generated"] == pytest.approx(2.75)
    assert row["gain"] == pytest.approx(1 / 1.75) and row["difference"] == pytest.approx(1.0)
    assert row["p_value"] == pytest.approx(0.5)  # exact: 2 of the 4 sign vectors are as extreme
    assert row["pairs"] == 2
    agree = res.agreement.set_index("metric")
    ann_r, bob_r = np.array([1, 3, 2, 2.0]), np.array([2, 3, 2, 3.0])
    assert agree.loc["Rationality", "cohen_kappa"] == pytest.approx(cohen_kappa(ann_r, bob_r, [1, 2, 3]))
    assert agree.loc["Rationality", "items"] == 4 and agree.loc["Rationality", "raters"] == 2
    assert agree.loc["all metrics", "items"] == 12
    assert not res.warnings and not res.notes


def test_results_of_a_study_in_progress_say_so(study):
    ann = study.raters()[0]
    study.set_rating(ann.id, study.rater_items(ann.id)[0]["id"], "controversy", 2)
    res = annotate_results(study.path, resamples=100)
    assert any("1 of 180 ratings given so far" in n for n in res.notes)
    assert len(res.raters) == 1  # only raters who rated something


def test_the_public_api():
    import adaem

    assert adaem.annotate_results is not None and "annotate_results" in adaem.__all__
    with pytest.raises(ConfigError, match="weights"):
        adaem.annotate_results("anywhere", weights="cubic")


# -- the command line and the report ----------------------------------------------------------------------
def test_the_command_line_end_to_end(tmp_path):
    gen, base = _question_file(tmp_path, 6), _question_file(tmp_path, 6, "B")
    study = tmp_path / "study"
    r = run_cli("annotate", "create", str(gen), "--baseline", str(base), "--out", str(study), "--pairs", "5",
                "--rater-names", "ann,bob,cy")
    assert r.returncode == 0, r.stderr
    assert "5 pairs: 5 by topic" in r.stdout and "10 questions, 3 raters (ann, bob, cy), 10 questions each" in r.stdout
    with Study.open(study) as s:
        wide = tmp_path / "wide.csv"
        rows = ["rater,item_id,rationality,controversy,value_elicitation"]
        for it in s.items():
            hi = it["set_name"] == "generated"
            rows += [f"{name},{it['id']},{3 if hi else 1},{3 if hi else 2},{2 + hi}" for name in ("ann", "bob", "cy")]
        wide.write_text("\n".join(rows) + "\n")
    r = run_cli("annotate", "import", str(study), str(wide))
    assert r.returncode == 0 and "imported 90 ratings" in r.stdout, r.stderr
    r = run_cli("annotate", "results", str(study), "--out", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    assert "Rationality" in r.stdout and "+200.0%" in r.stdout and "p 0.062, Holm 0.188 (5 pairs)" in r.stdout
    assert "Krippendorff" in r.stdout and (tmp_path / "res" / "results.csv").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("rater,item_id,metric,value\nann,nope,controversy,4\n")
    r = run_cli("annotate", "import", str(study), str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.csv:2" in r.stderr
    r = run_cli("annotate", "results", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "is not an annotation study" in r.stderr
    r = run_cli("annotate", "export", str(study), "-o", str(tmp_path / "out.csv"))
    assert r.returncode == 0 and "wrote 90 ratings" in r.stdout


def test_the_report_shows_a_study(study):
    from adaem.report import collect_run

    ann = study.raters()[0]
    study.set_rating(ann.id, study.rater_items(ann.id)[0]["id"], "controversy", 2)
    data = collect_run(study.path)
    assert data.kind == "annotate" and data.status == "partial"
    assert set(data.tables) == {"human evaluation", "inter-rater agreement", "every two raters",
                                "each rater against the rest"}
    assert data.tables["human evaluation"][0]["metric"] == "Rationality"


# -- blinding: orders from the study's secret, pairs apart, nothing a rater sees predicts the set ---------------
def test_spaced_orders_are_permutations_that_keep_every_pair_apart():
    from adaem.annotate.blinding import feasible_gap, min_pair_gap, order_rng, spaced_order, spread_in

    for k, gap in ((2, 10), (3, 1), (5, 4), (20, 5), (20, 19), (300, 10), (300, 120)):
        pairs = [(f"a{i}", f"b{i}") for i in range(k)]
        order = spaced_order(pairs, gap, order_rng("secret", f"{k}:{gap}"))
        assert sorted(order) == sorted(x for p in pairs for x in p)
        assert min_pair_gap(order, pairs) >= feasible_gap(k, gap) >= 1  # never adjacent
        with_checks = spread_in(order, ["c1", "c2", "c3"], order_rng("secret", "checks"))
        assert [x for x in with_checks if not x.startswith("c")] == order and len(with_checks) == 2 * k + 3
        assert min_pair_gap(with_checks, pairs) >= min_pair_gap(order, pairs)
    one = spaced_order([("a", "b"), ("c", "d"), ("e", "f")], 2, order_rng("s", "x"))
    assert one == spaced_order([("a", "b"), ("c", "d"), ("e", "f")], 2, order_rng("s", "x"))  # the secret decides
    assert len({tuple(spaced_order([(f"a{i}", f"b{i}") for i in range(8)], 3, order_rng(str(s), "x")))
                for s in range(20)}) == 20


def test_orders_come_from_the_study_secret_and_the_seed_only_picks_the_pairs(tmp_path):
    gen, base = _question_file(tmp_path, 12), _question_file(tmp_path, 12, "B")
    made = []
    for name in ("one", "two"):
        s, _ = create_study(gen, tmp_path / name, baseline=base, pairs=8, raters=["ann"], seed=7)
        with s:
            texts = {it["id"]: it["question"] for it in s.items()}
            made.append((s.meta("secret"), sorted(texts.values()), [texts[it["id"]] for it in s.rater_items(1)]))
    (secret1, chosen1, order1), (secret2, chosen2, order2) = made
    assert len(secret1) == 64 and secret1 != secret2  # 256 random bits per study
    assert chosen1 == chosen2  # --seed: the same pairs...
    assert order1 != order2  # ...but each study's own order, which no seed replays


def _old_order(study, rater_index: int, seed: int = 0) -> list[str]:
    """The order of the first version (issue 35): alternating baseline / generated, shuffled with a public seed."""
    import random

    ids = [it["id"] for it in sorted(study.items(), key=lambda it: (it["pair"], it["set_name"]))]
    random.Random(f"{seed}:{rater_index}").shuffle(ids)
    return ids


def _guesses(ids: list[str], rater_index: int) -> dict[str, list[int]]:
    """What a rater could guess from what their page shows (the order and the ids): 1 = generated."""
    import random

    n = len(ids)
    replay = list(range(n))
    random.Random(f"0:{rater_index}").shuffle(replay)  # replaying the old scheme with the default seed
    by_id = sorted(ids)
    return {"replayed shuffle": [replay[p] % 2 for p in range(n)],
            "odd position": [p % 2 for p in range(n)],
            "id order": [int(by_id.index(x) >= n // 2) for x in ids],
            "first half": [int(p < n // 2) for p in range(n)]}


async def test_no_rater_visible_data_predicts_the_set_over_many_studies(tmp_path):
    """200 studies, each rater-1's page data as the server sends it, four ways to guess a question's set from it
    (replaying the old seeded shuffle, position parity, id order, position) and a guess learned on half the studies
    (each position's and each id first character's majority set) applied to the other half. Each guess's hits are
    tested against chance with a one-sided exact binomial test at 0.001 / 5 (Bonferroni): the chance that this test
    fails while the blinding holds is at most 0.1%. The same test on the old scheme's orders must fail."""
    from aiohttp.test_utils import TestClient, TestServer
    from scipy.stats import binomtest

    from adaem.annotate.blinding import min_pair_gap
    from adaem.annotate.server import make_app

    gen, base = _question_file(tmp_path, 10, "Q"), _question_file(tmp_path, 10, "R")
    seen, old = [], []
    for k in range(200):
        s, _ = create_study(gen, tmp_path / f"s{k}", baseline=base, pairs=10, raters=2, min_gap=3)
        with s:
            truth = {it["id"]: int(it["set_name"] == "generated") for it in s.items()}
            partners = [tuple(it["id"] for it in s.items() if it["pair"] == p) for p in range(10)]
            rater = s.raters()[0]
            async with TestClient(TestServer(make_app(s))) as client:
                page = await (await client.get(f"/api/r/{rater.token}")).json()
            ids = [it["id"] for it in page["items"]]
            assert min_pair_gap(ids, partners) >= 3  # the two questions of a pair never close
            seen.append(([truth[x] for x in ids], ids))
            old_ids = _old_order(s, 0)
            old.append(([truth[x] for x in old_ids], old_ids))

    def hits(studies: list) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = {}
        for labels, ids in studies:
            for name, guess in _guesses(ids, 0).items():
                got = out.setdefault(name, [0, 0])
                got[0] += sum(g == t for g, t in zip(guess, labels, strict=True))
                got[1] += len(labels)
        train, test = studies[: len(studies) // 2], studies[len(studies) // 2:]
        votes: dict[tuple, list[int]] = {}
        for labels, ids in train:
            for p, (t, x) in enumerate(zip(labels, ids, strict=True)):
                for key in (("pos", p), ("id", x[1])):
                    votes.setdefault(key, [0, 0])[t] += 1
        learned = [0, 0]
        for labels, ids in test:
            for p, (t, x) in enumerate(zip(labels, ids, strict=True)):
                score = sum(votes.get(key, [0, 0])[1] - votes.get(key, [0, 0])[0] for key in (("pos", p), ("id", x[1])))
                learned[0] += int((score > 0) == bool(t))
                learned[1] += 1
        out["learned on half the studies"] = learned
        return {k: (v[0], v[1]) for k, v in out.items()}

    def leaks(studies: list) -> list[str]:
        return [f"{name}: {h} of {n}" for name, (h, n) in hits(studies).items()
                if binomtest(h, n, 0.5, alternative="greater").pvalue < 0.001 / 5]

    assert leaks(seen) == []
    assert "replayed shuffle: 4000 of 4000" in leaks(old)  # the test finds the leak the first version had


# -- agreement only where raters overlap ----------------------------------------------------------------------
def _rate_all(study, names, rng, quality=None):
    """Correlated ratings of every question by the named raters (a shared quality per question plus noise)."""
    by_name = {r.name: r for r in study.raters()}
    quality = quality or {}
    for it in study.items():
        q = quality.setdefault(it["id"], rng.normal(0, 0.8))
        for name in names:
            for m in study.metrics.keys():
                value = int(np.clip(np.round(2 + q + rng.normal(0, 0.35)), 1, 3))
                study.set_rating(by_name[name].id, it["id"], m, value, source="test")
    return quality


def test_one_rating_is_too_few_shared_items_and_moves_no_headline(tmp_path):
    """Issue 35: a rater who rated one question was an 'outlier' at κ 0.00 and halved the mean κ."""
    s, _ = create_study(_question_file(tmp_path, 12), tmp_path / "s", baseline=_question_file(tmp_path, 12, "B"),
                        pairs=12, raters=["ann", "bob", "cy", "dee"])
    with s:
        rng = np.random.default_rng(3)
        _rate_all(s, ["ann", "bob", "cy"], rng)
        before = annotate_results(s, resamples=300)
        ratings = {(r["rater"], r["item"], r["metric"]): r["value"] for r in s.ratings()}
        unanimous = next(it["id"] for it in s.items()
                         if all(len({ratings[(n, it["id"], m)] for n in ("ann", "bob", "cy")}) == 1
                                for m in s.metrics.keys()))
        dee = s.raters()[3]
        for m in s.metrics.keys():  # dee agrees with everyone on the one question dee rates
            s.set_rating(dee.id, unanimous, m, ratings[("ann", unanimous, m)])
        after = annotate_results(s, resamples=300)
    assert before.warnings == after.warnings == []
    cols = ["cohen_kappa", "rater_pairs"]
    assert after.agreement[cols].equals(before.agreement[cols])  # the headline κ and its pairs: unchanged
    assert after.table.equals(before.table)  # means, CIs, gains, tests: unchanged (dee matched the others)
    assert (after.agreement["pairs_too_few"] == 3).all()
    row = after.raters.set_index("rater").loc["dee"]
    assert row["agreement"] == "too few shared items (fewer than 10 with anyone)" and not row["flagged"]
    assert np.isnan(row["kappa_with_others"]) and row["shared_questions"] == 0
    dee_pairs = after.pairs[after.pairs["rater_b"] == "dee"]
    assert list(dee_pairs["note"]) == ["too few shared items (1 < 10)"] * 3 and dee_pairs["rationality"].isna().all()
    r = run_cli("annotate", "results", str(s.path), "--resamples", "300")
    assert r.returncode == 0 and "too few shared items" in r.stdout and "outlier" not in r.stdout, r.stdout


def test_raters_without_shared_items_are_listed_not_skipped_and_few_ratings_are_never_an_outlier(tmp_path):
    s, _ = create_study(_question_file(tmp_path, 30), tmp_path / "s", baseline=_question_file(tmp_path, 30, "B"),
                        pairs=30, raters=["ann", "bob", "cy", "dee"], per_item=2)
    with s:
        rng = np.random.default_rng(5)
        quality: dict = {}
        for r in s.raters()[:3]:
            for it in s.rater_items(r.id):
                q = quality.setdefault(it["id"], rng.normal(0, 0.8))
                for m in s.metrics.keys():
                    s.set_rating(r.id, it["id"], m, int(np.clip(np.round(2 + q + rng.normal(0, 0.3)), 1, 3)))
        f = tmp_path / "imported.csv"  # an imported rater: 3 ratings, all against the others
        first = s.items()[0]["id"]
        f.write_text("rater,item_id,metric,value\n" + "".join(f"eve,{first},{m},{1 if quality.get(first, 0) > 0 else 3}\n"
                                                               for m in s.metrics.keys()))
        import_csv(s, f)
        res = annotate_results(s, resamples=200)
    pairs = res.pairs.set_index(["rater_a", "rater_b"])
    # rotation of 2 per pair over 4 raters: ann-bob, cy-dee, ... some pairs share nothing, and say so
    assert "no shared items" in set(pairs["note"])
    eve = res.raters.set_index("rater").loc["eve"]
    assert not eve["flagged"] and eve["agreement"].startswith("too few shared items") and not res.warnings
    assert any("raters its design did not (imported later): eve" in d for d in res.deviations)


def test_an_outlier_warning_says_what_it_rests_on(tmp_path):
    s, _ = create_study(_question_file(tmp_path, 15), tmp_path / "s", baseline=_question_file(tmp_path, 15, "B"),
                        pairs=15, raters=["ann", "bob", "cy", "dee"])
    with s:
        rng = np.random.default_rng(0)
        _rate_all(s, ["ann", "bob", "cy"], rng)
        dee = s.raters()[3]
        for it in s.items():
            for m in s.metrics.keys():
                s.set_rating(dee.id, it["id"], m, int(rng.integers(1, 4)))
        res = annotate_results(s, resamples=300)
    assert len(res.warnings) == 1
    assert "rater 'dee'" in res.warnings[0] and "3 raters sharing at least 10 questions, 30 questions in all" in res.warnings[0]


# -- the study's design and its pre-registered plan ---------------------------------------------------------------
DESIGN = """
scale: {min: 1, max: 3, labels: {1: Low, 3: High}}
instructions: "Read **this**. <script>window.x=1</script>"
metrics:
  - {key: sense, name: Sense, definition: "Does it make sense?", examples: {1: "*nonsense*", 3: "clear"}}
  - {key: heat, name: Heat, definition: "Does it divide people?"}
practice:
  - {question: "Practice: is water wet?", expected: {sense: 3}, feedback: "Plain **sense**."}
checks:
  - {question: "Check: please rate every scale 1.", expected: {sense: 1, heat: 1}}
  - {question: "Check: please rate Sense 3.", expected: {sense: 3}}
analysis: {resamples: 500, min_overlap: 4, check_pass_rate: 0.75}
"""


@pytest.mark.parametrize("patch, fragment", [
    ({"instructions": 3}, "instructions: give a non-empty text"),
    ({"metrics": [{"key": "a", "name": "A", "definition": "d", "examples": {7: "x"}}]}, r"examples: 7 is outside 1\.\.3"),
    ({"practice": [{"question": "q?", "expected": {"nope": 1}}]}, r"practice\[0\]\.expected: unknown metric 'nope'"),
    ({"checks": [{"question": "q?"}]}, r"checks\[0\]\.expected: an attention check needs"),
    ({"checks": [{"question": "q?", "expected": {"sense": 5}}]}, r"checks\[0\]\.expected\.sense: a whole number from 1 to 3"),
    ({"checks": [{"question": "q?", "expected": {"sense": 1}, "feedback": "x"}]}, r"checks\[0\]: give expected and question"),
    ({"analysis": {"resampels": 10}}, "analysis: unknown setting"),
    ({"analysis": {"min_overlap": 1}}, r"min_overlap: at least 2"),
    ({"analysis": {"weights": "cubic"}}, r"weights: use quadratic, linear, none"),
    ({"analysis": {"check_pass_rate": 2}}, r"check_pass_rate: a share from 0 to 1"),
])
def test_a_bad_design_is_one_error_naming_the_field(tmp_path, patch, fragment):
    import yaml

    data = yaml.safe_load(DESIGN)
    data.update(patch)
    if "metrics" in patch:
        data.pop("practice"), data.pop("checks")
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=fragment):
        create_study(_question_file(tmp_path, 4), tmp_path / "s", baseline=_question_file(tmp_path, 4, "B"),
                     pairs=4, raters=2, design=path)
    assert not (tmp_path / "s").exists()


def test_markdown_is_a_tree_of_safe_nodes():
    from adaem.annotate.markdown import TAGS, markdown_tree, plain_text

    tree = markdown_tree("# Head\nText <script>alert(1)</script> <b>bold</b> [bad](javascript:alert(1)) "
                         "[good](https://example.org) ![pic](http://x/y.png)\n\n- a\n- **b**")

    def walk(nodes):
        for n in nodes:
            if isinstance(n, dict):
                yield n
                yield from walk(n["c"])

    nodes = list(walk(tree))
    assert {n["t"] for n in nodes} <= TAGS and nodes[0]["t"] == "h3"  # '#' sits below the page's own headings
    assert [n["href"] for n in nodes if n["t"] == "a"] == ["https://example.org"]
    text = plain_text(tree)
    assert "<script>alert(1)</script>" in text and "<b>bold</b>" in text  # raw HTML is text, never a tag
    assert "[bad](javascript:alert(1))" in text and "pic" in text


def test_a_designed_study_practice_and_checks_and_the_frozen_plan(tmp_path):
    design = tmp_path / "design.yaml"
    design.write_text(DESIGN)
    old = os.umask(0)  # a permissive umask: the study's files are still its owner's only
    try:
        s, summary = create_study(_question_file(tmp_path, 6), tmp_path / "s", baseline=_question_file(tmp_path, 6, "B"),
                                  pairs=6, raters=["ann", "bob", "cy"], design=design, min_gap=2)
    finally:
        os.umask(old)
    with s:
        assert stat.S_IMODE(os.stat(s.path / "design.yaml").st_mode) == 0o600
        assert (s.path / "design.yaml").read_text() == DESIGN and not (s.path / "metrics.yaml").exists()
        assert summary["practice"] == 1 and summary["checks"] == 2 and summary["per_rater"] == [14, 14, 14]
        assert s.plan.resamples == 500 and s.plan.min_overlap == 4 and s.plan.check_pass_rate == 0.75
        assert s.plan.sha256() == s.meta("plan_sha256") == summary["plan_sha256"]
        ann, bob, cy = s.raters()
        items = s.rater_items(ann.id)
        assert all(set(it) == {"id", "text", "ratings"} for it in items)  # a check looks like any question
        checks = [it for it in items if it["text"].startswith("Check:")]
        assert len(checks) == 2 and len(s.items()) == 12  # checks are no study item
        practice = s.practice_items(ann.id)
        assert [p["text"] for p in practice] == ["Practice: is water wet?"] and practice[0]["expected"] == {"sense": 3}
        for m in ("sense", "heat"):
            s.set_rating(ann.id, practice[0]["id"], m, 2)
        assert s.rated(ann.id) == (0, 14)  # practice never counts
        for rater, answers in ((ann, ({"sense": 1, "heat": 1}, {"sense": 3})),
                               (bob, ({"sense": 1, "heat": 2}, {"sense": 1})),
                               (cy, ({"sense": 1, "heat": 1}, {"sense": 2}))):
            by_text = {it["text"]: it["id"] for it in s.rater_items(rater.id)}
            for check, given in zip(("Check: please rate every scale 1.", "Check: please rate Sense 3."), answers,
                                    strict=True):
                for m in ("sense", "heat"):
                    s.set_rating(rater.id, by_text[check], m, given.get(m, 2))
            for it in s.items():
                for m in ("sense", "heat"):
                    s.set_rating(rater.id, it["id"], m, 3 if it["set_name"] == "generated" else 1)
        for name in ("study.sqlite", "study.sqlite-wal", "study.sqlite-shm"):  # made under umask 0, still private
            assert stat.S_IMODE(os.stat(s.path / name).st_mode) == 0o600, name
        results = s.check_results()
        assert {n: (c["passed"], c["answered"]) for n, c in results.items()} == {"ann": (2, 2), "bob": (0, 2),
                                                                               "cy": (1, 2)}
        res = annotate_results(s)
        assert res.plan.resamples == 500 and res.deviations == []
        raters = res.raters.set_index("rater")
        assert raters.loc["bob", "excluded"] == "passed 0 of 2 attention checks" and raters.loc["bob", "ratings"] == 0
        assert raters.loc["cy", "excluded"] == "passed 1 of 2 attention checks"  # 50% < the plan's 75%
        assert raters.loc["ann", "checks_passed"] == 2 and raters.loc["ann", "excluded"] == ""
        assert int(res.agreement.iloc[0]["items"]) == 0 and res.table.iloc[0]["baseline"] == 1.0  # only ann is left
        assert any("failed the attention check 'Check: please rate every scale 1.'" in n for n in res.notes)
        shifted = annotate_results(s, resamples=200, seed=3)
        assert shifted.deviations == ["computed with resamples 200 (the plan: 500)", "computed with seed 3 (the plan: 0)"]
        with s.transaction() as conn:  # someone edits the frozen plan by hand
            conn.execute("UPDATE meta SET value = replace(value, '500', '50') WHERE key = 'plan'")
    with Study.open(tmp_path / "s") as edited:
        assert "no longer matches the hash recorded at its creation" in annotate_results(edited).deviations[0]
    r = run_cli("annotate", "plan", str(tmp_path / "s"))
    assert r.returncode == 0 and "Attention checks (2)" in r.stdout and "Practice items (1)" in r.stdout


def test_conflicting_ratings_the_stored_one_wins_and_time_on_items_adds_up(study, tmp_path):
    from adaem.annotate.study import RatingConflict

    ann = study.raters()[0]
    item = study.rater_items(ann.id)[0]["id"]
    assert study.set_rating(ann.id, item, "controversy", 3, expected=None) == (0, 1)
    with pytest.raises(RatingConflict) as caught:  # a second page that still shows no rating
        study.set_rating(ann.id, item, "controversy", 1, expected=None)
    assert caught.value.current == 3 and study.version(ann.id) == 1
    assert study.set_rating(ann.id, item, "controversy", 1, expected=3) == (1, 2)
    study.add_time(ann.id, item, 12.5)
    study.add_time(ann.id, item, 2.5)
    for bad in (0, -1, 4000, "5", True):
        with pytest.raises(RatingError, match="seconds"):
            study.add_time(ann.id, item, bad)
    assert study.seconds_per_item() == {"ann": {item: 15.0}}
    text = export_csv(study)
    assert text.splitlines()[1].endswith(",15.0")


def test_a_study_of_the_first_format_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "old"
    path.mkdir()
    conn = sqlite3.connect(path / "study.sqlite")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('format', '1')")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="older adaem whose orders a rater could replay"):
        Study.open(path)


def test_the_report_prints_the_intervals_the_command_prints(tmp_path):
    from adaem.report import collect_run

    s, _ = create_study(_question_file(tmp_path, 25), tmp_path / "s", baseline=_question_file(tmp_path, 25, "B"),
                        pairs=25, raters=["ann", "bob", "cy"])
    with s:
        _rate_all(s, ["ann", "bob", "cy"], np.random.default_rng(11))
    r = run_cli("annotate", "results", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    rows = collect_run(tmp_path / "s").tables["human evaluation"]
    for row in rows:
        for cell in (row["gain"], row["generated (G.jsonl)"], row["baseline (B.jsonl)"]):
            assert cell in r.stdout, (cell, r.stdout)
