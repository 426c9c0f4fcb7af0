"""Informativeness comparison (SPEC §8, paper: AdAEM 6.99 vs SVS 6.07): the mean S of two or more question
sets under one model pool (the explorers) and one judge, with t intervals and Welch's t-test against the first
set, both cluster-robust over the seed topics of a generated set (its questions are not independent); Mann–
Whitney U as well when no set has topics.

A resumable job like every other: one line per scored question in outputs/scores.jsonl, every call cached.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..benchmark import Question, load_questions
from ..config import RunConfig
from ..errors import ConfigError
from ..jobs import run_job_async, run_sync
from ..models import ModelPool
from ..objective import Weights
from ..store import RunStore, read_jsonl, read_state
from ..theories import Theory, load_theory
from ..units import Unit, UnitsResult, run_phase


def bootstrap_mean_ci(values: np.ndarray, confidence: float = 0.95, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of independent values (the benchmarks' regret and S curves)."""
    values = np.asarray(values, float)
    if len(values) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100])
    return float(lo), float(hi)


def mean_ci(values: np.ndarray, topics: Sequence[object] | np.ndarray | None = None, confidence: float = 0.95
            ) -> tuple[float, float]:
    """t interval of a set's mean S with the cluster-robust SE over its topics (df = topics − 1); over
    questions when the set has no topics."""
    from ..resampling import clusters_of, mean_test, t_quantile

    values = np.asarray(values, float)
    if len(values) < 2:
        return (float("nan"), float("nan"))
    mean, se, df = mean_test(values, clusters_of(topics, len(values)))
    half = float(t_quantile(confidence, df)) * se
    return mean - half, mean + half


def compare_means(a: np.ndarray, b: np.ndarray, topics_a: Sequence[object] | np.ndarray | None = None,
                  topics_b: Sequence[object] | np.ndarray | None = None) -> dict[str, float]:
    """b against a: difference of means and Welch's t-test, with each set's SE cluster-robust over its topics
    (questions of one seed topic are correlated; df by Welch–Satterthwaite over the topic counts). Without
    topics this is scipy's Welch test exactly. Mann–Whitney U (two-sided) only when neither set has topics: a
    rank test over questions takes them as independent, and with topics it rejected 23% of the time at 0.05."""
    from scipy import stats

    from ..resampling import clusters_of, mean_test, t_p

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        raise ConfigError(f"a significance test needs at least 2 scored questions per set, got {len(a)} and {len(b)}")
    ca, cb = clusters_of(topics_a, len(a)), clusters_of(topics_b, len(b))
    ma, se_a, df_a = mean_test(a, ca)
    mb, se_b, df_b = mean_test(b, cb)
    se = float(np.hypot(se_a, se_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se**4 / (se_a**4 / np.float64(df_a) + se_b**4 / np.float64(df_b))  # one topic: df 0, p NaN
        t = (mb - ma) / se
    out = {"difference": mb - ma, "welch_t": float(t), "welch_p": float(t_p(np.array(mb - ma), np.array(se), df)),
           "mannwhitney_u": float("nan"), "mannwhitney_p": float("nan")}
    if ca.unit == "question" and cb.unit == "question":
        mwu = stats.mannwhitneyu(b, a, alternative="two-sided")
        out.update(mannwhitney_u=float(mwu.statistic), mannwhitney_p=float(mwu.pvalue))
    return out


def sample_questions(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    """At most `limit` of the questions, a seeded sample in file order (`--limit`)."""
    if limit is None or len(questions) <= limit:
        return questions
    picked = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in picked]


@dataclass
class Comparison:
    """Scores of question sets under one pool, and the run directory they are in."""

    scores: Any  # DataFrame: one row per (set, question): S and its components, means over the draws
    summary: Any  # DataFrame: one row per set: n, mean, CI, tests against the first set, test–retest ICC
    failures: list[dict[str, Any]]
    models: list[str]
    retest: dict[str, float] | None = None  # over every set's questions, when scored twice or more
    run_dir: Path | None = None
    stopped: str | None = None  # why units were left for --resume (a cost cap)
    left: int = 0


def retest_reliability(draws: Any, confidence: float = 0.95) -> dict[str, Any] | None:
    """One-way random-effects ICC of S over (question × draw): ICC1 is the share of one draw's variance that
    belongs to the question, ICC1k the reliability of the mean over k draws. Its interval is over the questions'
    topics when `draws` has a `topic` column with some (`psychometrics.icc1_interval`: a jackknife over topics;
    the F interval took the questions as independent and covered 0.88), else over questions; `ci_unit` says
    which. None when fewer than 3 questions were scored on every draw, or there is only one draw."""
    import pandas as pd

    from ..resampling import clusters_of
    from .psychometrics import icc, icc1_interval

    wide = draws.pivot_table(index="question", columns="draw", values="score").dropna()
    if wide.shape[1] < 2 or wide.shape[0] < 3:
        return None
    topic_of = (draws.dropna(subset=["topic"]).groupby("question")["topic"].first()
                if "topic" in draws.columns else pd.Series(dtype=object))
    topics = [topic_of.get(q) for q in wide.index]
    topics_or_none = topics if any(t is not None for t in topics) else None
    x = wide.to_numpy(float)
    r = icc(x)
    lo, hi = icc1_interval(x, topics_or_none, confidence)
    return {"questions": int(wide.shape[0]), "draws": int(wide.shape[1]), "icc1": r.icc1,
            "icc1_lo": lo, "icc1_hi": hi, "icc1k": r.icc1k, "ci_unit": clusters_of(topics_or_none, len(x)).describe()}


def _key(name: str, qid: str, draw: int) -> str:
    return f"{name}|{qid}" if draw == 0 else f"{name}|{qid}|{draw}"  # draw 0 keeps the keys of earlier runs


async def _score_sets(store: RunStore, pool: ModelPool, theory: Theory,
                      sets: list[tuple[str, list[Question]]], draws: int) -> UnitsResult:
    from ..embeddings import default_encoder
    from ..scoring import score_question

    config = store.config
    models = config.roles.explorers
    encoder = default_encoder()

    async def one(name: str, q: Question, draw: int) -> dict[str, Any]:
        scored = await score_question(pool, config, theory, encoder, q.text, models, draw=draw)
        return {"key": _key(name, q.id, draw), "set": name, "question_id": q.id, "draw": draw, "question": q.text,
                "topic": q.topic, **scored.as_record()}

    units = [Unit("scores", _key(name, q.id, d), partial(one, name, q, d))
             for name, qs in sets for q in qs for d in range(draws)]
    return await run_phase(store, pool, units, label="compare: score questions", models=[*models, config.roles.judge],
                           max_cost=config.evaluation.max_cost, embeddings=True, theory=theory.name)


def _pool(config: RunConfig) -> list[Any]:
    """What S depends on beyond the questions: scores are comparable only under all of it."""
    ev, gen = config.evaluation, config.generation
    return [*config.roles.explorers, config.roles.judge, ev.theory, ev.protocol, ev.unit,
            {"weights": Weights(**gen.weights).__dict__, "coherence": gen.coherence,
             "opinion_rules": ev.opinion_rules.model_dump()}]


def compare_sets(files: Sequence[Path | str], config: RunConfig | None = None, out: Path | None = None, *,
                 limit: int | None = None, resume: bool = False, seed: int = 0, draws: int = 1,
                 dedupe: bool = False) -> Comparison:
    """Informativeness S of every question of each file under one pool (see `compare_sets_async`)."""
    return run_sync(compare_sets_async(files, config, out, limit=limit, resume=resume, seed=seed, draws=draws,
                                       dedupe=dedupe))


async def compare_sets_async(files: Sequence[Path | str], config: RunConfig | None = None, out: Path | None = None, *,
                             limit: int | None = None, resume: bool = False, seed: int = 0, draws: int = 1,
                             dedupe: bool = False) -> Comparison:
    """Score every question of each file (at most `limit` per file, a seeded sample) under config.roles.explorers,
    `draws` times with independent answers: a question's S is the mean over its draws, and with two or more draws
    the summary says how much of S's spread is the question's rather than the sampling (test–retest ICC)."""
    if draws < 1:
        raise ConfigError(f"draws: at least 1, got {draws}")

    if len(files) < 2:
        raise ConfigError("compare needs at least two question files")
    names = [Path(f).stem for f in files]
    if len(set(names)) != len(names):  # names key the stored scores: make them unique
        names = [f"{i + 1}-{n}" for i, n in enumerate(names)]
    sets = [(name, sample_questions(load_questions(f, dedupe=dedupe), limit, seed)) for name, f in zip(names, files, strict=True)]
    if config is not None and len(config.roles.explorers) < 2:
        raise ConfigError("roles.explorers: informativeness needs a pool of at least 2 models")
    out = Path(out or Path("runs") / "compare")
    if resume and config is not None:  # S is only comparable under one pool and judge
        pool, scored_under = _pool(config), read_state(out, "pool")
        if scored_under is not None and scored_under != pool:
            raise ConfigError(f"{out} scored its questions under another pool or definition of S ({scored_under}); "
                              f"compare under {pool} in a new --out")
    store = RunStore.open(out, config, "compare", resume)
    config = store.config
    theory = load_theory(config.evaluation.theory)
    store.put("pool", _pool(config))
    store.put("sets", {name: str(f) for name, f in zip(names, files, strict=True)})
    result = await run_job_async(store, lambda pool: _score_sets(store, pool, theory, sets, draws),
                                 lambda r: bool(r.failures or r.stopped))
    comparison = summarize_comparison(Path(store.path), names, config.roles.explorers, config.evaluation.confidence,
                                      result.failures, draws)
    comparison.stopped, comparison.left = result.stopped, result.left
    return comparison


def summarize_comparison(run_dir: Path, names: list[str], models: list[str], confidence: float = 0.95,
                         failures: list[dict[str, Any]] | None = None, draws: int = 1) -> Comparison:
    import pandas as pd

    records = read_jsonl(run_dir / "outputs" / "scores.jsonl")
    rows = [{"set": r["set"], "question_id": r["question_id"], "draw": r.get("draw", 0), "question": r["question"],
             "topic": r.get("topic"), "score": r["score"], **(r["components"] or {}), "problem": r["problem"]}
            for r in records if r["set"] in names and r.get("draw", 0) < draws]
    long = pd.DataFrame(rows, columns=None if rows else ["set", "question_id", "draw", "question", "topic", "score",
                                                         "problem"])
    numeric = [c for c in long.columns if c not in ("set", "question_id", "draw", "question", "topic", "problem")]
    scores = long.groupby(["set", "question_id"], sort=False).agg(
        question=("question", "first"), topic=("topic", "first"), draws=("score", "count"),
        **{c: (c, "mean") for c in numeric}, problem=("problem", "first")).reset_index()
    summary_rows = []

    def scored(name: str) -> tuple[np.ndarray, list[object] | None]:
        rows = scores[(scores.set == name) & scores.score.notna()]
        topics = [None if pd.isna(t) else t for t in rows.topic]
        return rows.score.to_numpy(float), topics if any(t is not None for t in topics) else None

    from ..resampling import clusters_of

    first, first_topics = scored(names[0])
    for name in names:
        s, topics = scored(name)
        lo, hi = mean_ci(s, topics, confidence)
        row: dict[str, Any] = {"set": name, "questions": int((scores.set == name).sum()), "scored": len(s),
                               "mean": float(s.mean()) if len(s) else float("nan"), "ci_lo": lo, "ci_hi": hi,
                               "std": float(s.std(ddof=1)) if len(s) > 1 else float("nan"),
                               "ci_unit": clusters_of(topics, len(s)).describe()}
        if name != names[0] and len(s) >= 2 and len(first) >= 2:
            row.update({f"vs_{names[0]}_{k}": v for k, v in compare_means(first, s, first_topics, topics).items()})
        own = (retest_reliability(long[long.set == name].assign(question=lambda d: d.question_id), confidence)
               if draws > 1 else None)
        row.update({"retest_icc1": own["icc1"], "retest_icc1_lo": own["icc1_lo"], "retest_icc1_hi": own["icc1_hi"],
                    "retest_icc1k": own["icc1k"]} if own else {})
        summary_rows.append(row)
    summary = pd.DataFrame(summary_rows)
    retest = (retest_reliability(long.assign(question=long.set + "|" + long.question_id,
                                             topic=[None if pd.isna(t) else f"{s}|{t}" for s, t in
                                                    zip(long.set, long.topic, strict=True)]), confidence)
              if draws > 1 else None)
    scores.to_csv(run_dir / "compare_scores.csv", index=False)
    long.to_csv(run_dir / "compare_draws.csv", index=False)
    summary.to_csv(run_dir / "compare_summary.csv", index=False)
    (run_dir / "compare.json").write_text(json.dumps({"sets": json.loads(summary.to_json(orient="records")),
                                                      "retest": retest}, indent=1))
    _chart(scores, names, run_dir / "compare.png")
    return Comparison(scores, summary, failures or [], models, retest, Path(run_dir))


def _chart(scores: Any, names: list[str], path: Path) -> None:
    from ..charts import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2.0 + 1.6 * len(names), 4.2))
    data = [scores[scores.set == n].score.dropna().to_numpy(float) for n in names]
    ax.boxplot(data, showmeans=True)
    rng = np.random.default_rng(0)
    for k, d in enumerate(data):
        ax.scatter(k + 1 + rng.uniform(-0.12, 0.12, len(d)), d, s=10, alpha=0.6, color=plt.cm.tab10(k % 10))
    ax.set_xticks(range(1, len(names) + 1), labels=names, rotation=20, ha="right")
    ax.set_ylabel("informativeness S")
    ax.set_title("Informativeness of each question set under one pool (triangle = mean)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def load_comparison(run_dir: Path | str) -> Comparison:
    """A compare run's result from its CSVs and compare.json (no model call)."""
    import pandas as pd

    from ..config import load_config

    path = Path(run_dir)
    if not (path / "compare_summary.csv").exists():
        raise ConfigError(f"{path} holds no finished comparison (no compare_summary.csv): resume it first")
    retest = json.loads((path / "compare.json").read_text()).get("retest") if (path / "compare.json").exists() else None
    return Comparison(pd.read_csv(path / "compare_scores.csv"), pd.read_csv(path / "compare_summary.csv"), [],
                      load_config(path / "config.yaml").roles.explorers, retest, path)
