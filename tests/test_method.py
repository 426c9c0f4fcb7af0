"""Issue 23, the paper's method round two: the benchmark is the high-scoring questions, the E-step keeps the best of
N sampled answers per model, the bandit's horizon and arms without a reward, Appendix C.3's objective. (Value
conformity and the OR of binary labels are tested beside their code, in test_objective.py and test_measure.py.)"""

import json
import math
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

import adaem
from adaem.config import RunConfig, Selection, load_config
from adaem.generation.bandit import Arm, prior_mean, ucb_score, ucb_select
from adaem.generation.job import generate
from adaem.generation.selection import select_questions
from adaem.objective import (
    Candidate,
    c3_disentanglement,
    c3_informativeness,
    c3_value_conformity,
    c3_value_diversity,
    opinion_score,
    select_opinions,
)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import mock_generate  # noqa: E402


def q(i: int, score: float | None, topic: str = "t") -> dict:
    return {"id": f"q{i}", "question": f"Should {i}?", "topic": topic, "p2_score": score}


# -- 3. the benchmark is the high-scoring questions ---------------------------------------------------------
def test_selection_keeps_the_top_fraction_or_those_above_a_minimum():
    questions = [q(0, 0.2), q(1, 0.9), q(2, 0.5), q(3, None), q(4, 0.7)]
    assert [x["id"] for x in select_questions(questions, Selection(top=0.4))] == ["q1", "q4"]
    assert [x["id"] for x in select_questions(questions, Selection(top=0.01))] == ["q1"]  # at least one
    assert [x["id"] for x in select_questions(questions, Selection(min_score=0.5))] == ["q1", "q2", "q4"]
    assert len(select_questions(questions, Selection(top=1.0))) == 5


def test_selection_per_arm_ranks_within_each_topic():
    questions = [q(0, 0.9, "a"), q(1, 0.8, "a"), q(2, 0.1, "b"), q(3, 0.2, "b")]
    assert [x["id"] for x in select_questions(questions, Selection(top=0.5, per="arm"))] == ["q0", "q3"]
    assert [x["id"] for x in select_questions(questions, Selection(top=0.5))] == ["q0", "q1"]


def test_a_selection_rule_is_one_rule():
    with pytest.raises(ValueError):
        Selection(top=0.5, min_score=0.3)
    assert Selection(min_score=0.3).top is None
    assert load_config(overrides=["generation.select.min_score=0.4"]).generation.select.describe() == "P2 score ≥ 0.4"


@pytest.fixture
def generated(tmp_path_factory):
    from adaem.models.providers.mock import register_mock, unregister_mock

    register_mock("gen", mock_generate.generator)
    args = Namespace(explorers="mock/a,mock/b", budget=3, tau=-100.0)
    run = tmp_path_factory.mktemp("gen") / "run"
    result = generate(mock_generate.config(args), run)
    unregister_mock("gen")
    return run, result


def test_a_run_writes_the_selected_benchmark_and_keeps_every_accepted_question(generated, tmp_path):
    run, result = generated
    accepted = [json.loads(x) for x in (run / "outputs" / "benchmark.jsonl").read_text().splitlines()]
    selected = [json.loads(x) for x in (run / "benchmark.jsonl").read_text().splitlines()]
    assert len(accepted) == 6 and len(selected) == math.ceil(0.8 * 6)
    cut = min(r["p2_score"] for r in selected)
    assert all(a["p2_score"] <= cut for a in accepted if a["id"] not in {r["id"] for r in selected})
    assert all(r["selection"] == "top 80% by P2 score: 5 of 6 accepted questions" for r in selected)
    assert result.summary["selection"] == selected[0]["selection"] and result.summary["accepted"] == 6
    # re-selection from the finished run, without any model call (no model is configured here)
    frame = adaem.select(run, min_score=cut, out=tmp_path / "again.jsonl")
    assert set(frame["id"]) == {a["id"] for a in accepted if a["p2_score"] >= cut}
    cli = run_cli("select", str(run), "--top", "0.5", "--out", str(tmp_path / "half.parquet"))
    assert cli.returncode == 0, cli.stderr
    assert "3 of 6 accepted questions (top 50% by P2 score)" in cli.stdout
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "half.parquet").num_rows == 3
    bad = run_cli("select", str(run), "--top", "0.5", "--min-score", "1", "--out", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "give one rule" in bad.stderr


# -- 4. the E-step's N samples ------------------------------------------------------------------------------
def test_the_e_step_keeps_the_sample_with_the_highest_eq2_score():
    q_emb = np.array([1.0, 0.0, 0.0])
    on_topic, other = np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]])
    b = [Candidate(np.array([0.9, 0.1]), np.array([[0.9, 0.1]]), other)]
    vague = Candidate(np.array([0.1, 0.1]), np.array([[0.1, 0.1]]), on_topic)
    clear = Candidate(np.array([0.05, 0.95]), np.array([[0.05, 0.95]]), on_topic)
    assert opinion_score(clear, b, q_emb) > opinion_score(vague, b, q_emb)
    kept, scores = select_opinions([[vague, clear], b], q_emb)
    assert kept == [1, 0] and scores[0][1] > scores[0][0]
    # one sample per model: the paper's N = 1, nothing to choose
    assert select_opinions([[vague], b], q_emb)[0] == [0, 0]


async def test_scoring_with_n_samples_records_every_sample_and_keeps_one(tmp_path):
    from adaem.models import CallCache, ModelPool
    from adaem.scoring import score_question
    from adaem.theories import load_theory

    config = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b"], "judge": "mock/j"},
                                       "generation": {"opinion_samples": 3},
                                       "evaluation": {"opinion_rules": {"enabled": False}}})
    pool = ModelPool(config, cache=CallCache(tmp_path / "c.sqlite"))
    from adaem.embeddings import default_encoder

    scored = await score_question(pool, config, load_theory("schwartz10"), default_encoder(),
                                  "Should zoos be abolished?", ["mock/a", "mock/b"])
    await pool.aclose()
    for answer in scored.answers.values():
        assert len(answer["samples"]) == 3 and 0 <= answer["kept_sample"] < 3
        assert answer["points"] == answer["samples"][answer["kept_sample"]]["points"]
        assert len(answer["e_step_scores"]) == 3
    assert len({json.dumps(s["points"]) for s in scored.answers["mock/a"]["samples"]}) == 3  # three real samples
    assert scored.informativeness is not None


# -- 5. the bandit: the paper's horizon, arms without a reward ----------------------------------------------
def test_the_papers_horizon_is_the_budget():
    arms = [Arm("a", "x", pulls=2, mean=1.0, rewarded=2), Arm("b", "x", pulls=4, mean=1.1, rewarded=4)]
    assert ucb_score(1.0, 2, 1500, 1.0) == pytest.approx(1.0 + math.sqrt(2 * math.log(1500) / 2))
    # with ln(6 pulls) the better-known arm b wins; with ln(B = 1500) the bonus of the less-pulled arm a does
    assert ucb_select(arms, 0.2) == 1 and ucb_select(arms, 0.2, budget=1500) == 0


def test_an_arm_without_a_reward_holds_the_pools_mean_not_zero():
    silent = Arm("rejected every time", "x")
    for _ in range(3):
        silent.update(None)  # three pulls, every candidate rejected
    assert silent.pulls == 3 and silent.rewarded == 0
    arms = [Arm("a", "x", pulls=3, mean=0.8, rewarded=3), Arm("b", "x", pulls=3, mean=0.9, rewarded=3), silent]
    assert prior_mean(arms) == pytest.approx(0.85)
    # at c = 0 an arm whose mean were 0 could never be chosen over a negative-mean field; at the pool's mean it is
    low = [Arm("a", "x", pulls=3, mean=-0.5, rewarded=3), Arm("b", "x", pulls=3, mean=-0.3, rewarded=3), silent]
    assert ucb_select(low, 0.0) == 1  # silent holds −0.4, below b's −0.3, not a made-up 0 above both
    assert ucb_select([*low[:2], Arm("c", "x", pulls=3, mean=-0.45, rewarded=3), silent], 0.0) == 1
    first = Arm("new", "x")
    first.update(None)
    first.update(0.7)
    assert first.mean == pytest.approx(0.7)  # the first reward sets the mean, whatever came before


# -- 6. Appendix C.3's approximate objective ----------------------------------------------------------------
def test_c3_terms_on_a_hand_worked_example():
    """Appendix C.3, term by term, on three models and four values worked out by hand.

    Opinions' label sets: A {0,1} {0,2}; B {1} {3}; C {} {} (value-free). Question {0}.
    R_VC = mean(|∪|/max(1,|∩|)) = mean(3/1, 2/1, 0/1) = 5/3.
    Answers (OR): A {0,1,2}, B {1,3}, C {}. Jaccard distances: AB 1 − 1/4, AC 1, BC 1: "R_VD(V) = Σ_{v_i ∈ V}
    Σ_{v_j ∈ V, i ≠ j} D_jaccard(v_i, v_j)" over ordered pairs = 2 × 2.75 = 5.5.
    R_OD = 1 − mean over model pairs of the mean cosine of their points: A e0 e0, B e1, C (e0+e1)/√2 give AB 0,
    AC, BC 1/√2: 1 − √2/3. R_Dis = mean |v_opinion − v_question| = mean(2, 3, 1) = 2.
    "S = R_VC + R_VD + R_OD − ½ R_Dis" = 5/3 + 5.5 + (1 − √2/3) − 1."""
    points = [np.array([[1, 1, 0, 0], [1, 0, 1, 0]]), np.array([[0, 1, 0, 0], [0, 0, 0, 1]]), np.zeros((2, 4))]
    answers = np.array([[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]])
    question = np.array([1, 0, 0, 0])
    e0, e1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    embeddings = [np.stack([e0, e0]), e1[None, :], ((e0 + e1) / np.sqrt(2))[None, :]]
    assert c3_value_conformity(points) == pytest.approx(5 / 3)
    assert c3_value_diversity(answers) == pytest.approx(5.5)
    assert c3_disentanglement(question, answers) == pytest.approx(2.0)
    assert c3_disentanglement(None, answers) is None
    s = c3_informativeness(answers, question, embeddings, points)
    assert s.components["opinion_diversity"] == pytest.approx(1 - np.sqrt(2) / 3)
    assert s.form == "c3" and s.merge == "or"
    assert s.score == pytest.approx(5 / 3 + 5.5 + (1 - np.sqrt(2) / 3) - 1.0)
    # R_VD grows with the pool as K(K − 1): the same pairwise distance among 4 models sums 12 times, among the
    # paper's 9 scorers 72 times (Table 13's 3.07–9.31 is on that scale)
    for k in (4, 9):
        disjoint = np.eye(k)
        assert c3_value_diversity(disjoint) == pytest.approx(k * (k - 1))
    # the printed min(1, |∩|) would divide by zero when the opinions share no value: max(1, ·) keeps it defined
    assert c3_value_conformity([np.array([[1, 0, 0, 0], [0, 1, 0, 0]])]) == pytest.approx(2 / 1)


def test_joint_log_conformity_is_appendix_is_log_product():
    """Appendix I.2: "p(v|y) is computed as the joint value probability: Π_{j=1}^{d} p(v_j | y)"; its log, per
    model, averaged. Clipped at 1e-6 so a value the answer does not express keeps it finite."""
    from adaem.objective import informativeness, joint_log_conformity

    v = np.array([[0.5, 0.5, 1.0], [1.0, 1.0, 0.25]])
    assert joint_log_conformity(v) == pytest.approx(np.mean([2 * np.log(0.5), np.log(0.25)]))
    assert joint_log_conformity(np.array([[0.0, 1.0]])) == pytest.approx(np.log(1e-6))
    # a label the judge could not give is left out, the sum taken as d × the mean over the labelled ones
    assert joint_log_conformity(np.array([[0.5, np.nan]])) == pytest.approx(2 * np.log(0.5))
    s = informativeness(v, None, None, conformity="joint-log")
    assert s.components["conformity"] == pytest.approx(joint_log_conformity(v))


def test_the_paper_preset_names_the_papers_choices():
    paper = load_config(preset="paper")
    assert paper.generation.ucb_horizon == "budget" and paper.generation.opinion_samples == 1
    assert paper.generation.objective == "c3" and paper.generation.select.describe()  # Appendix I.1
    assert paper.evaluation.word_limit == 250 and paper.evaluation.unit == "opinion"
