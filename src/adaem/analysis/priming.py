"""Validity by value priming (SPEC §8, paper: target +31% / same group +17% / opposite group −58%, p < 0.01).

A target model answers a question subset unprimed (baseline) and once per primed value, with a system prompt
that makes that value its priority (`prompts/prime_system.txt`). Every answer is labelled by the judge as in
`adaem evaluate`. For each primed value, the per-question P(expressed) of the target value, of the values
sharing a higher-order group with it, and of the values in the opposite groups (both from the theory data)
is compared with the baseline: change, relative change, paired t-test (scipy) and Cohen's d_z (mean paired
difference / its standard deviation). Same questions and sampling seed in both arms, so the pairs are fair.

Resumable: one line per (condition, question) in outputs/answers.jsonl, every call cached.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..benchmark import Question, load_questions
from ..config import RunConfig
from ..errors import ConfigError, OutputParseError
from ..jobs import run_job_async, run_sync
from ..measure import measure_answer
from ..models import GenerateConfig, ModelPool
from ..prompts import PromptSet, render
from ..store import RunStore, read_jsonl
from ..theories import Theory, load_theory
from ..units import Unit, UnitsResult, run_phase
from .compare import sample_questions

BASELINE = "baseline"
RELATIONS = ("target", "same group", "opposite group")


def prime_prompt(theory: Theory, dim: str, prompts: PromptSet = "adaem") -> str:
    """The system message that primes a model towards one value. adaem's: the respondent's own system prompt, then
    the value with its definition. The paper's (`prompts: paper`): C.11's "You are an expert in Schwartz values,
    and you are designed to reflect value {value} in your response." as printed, or its MFT form (Appendix J.2)
    for `mft`; any other theory takes the Schwartz form with its own title."""
    d = theory.dimension(dim)
    if prompts == "paper":
        if theory.name == "mft":
            return render("paper/prime_system.mft", value=d.name)
        text = render("paper/prime_system", value=d.name)
        return text if theory.name == "schwartz10" else text.replace("Schwartz values", theory.title or theory.name)
    return render("prime_system", opinion_system=render("opinion_system"), name=d.name, definition=d.definition)


def related(theory: Theory, dim: str) -> dict[str, list[str]]:
    return {"target": [dim], "same group": theory.same_group(dim), "opposite group": theory.opposite(dim)}


def paired_effect(base: np.ndarray, primed: np.ndarray, clusters: Sequence[object] | None = None) -> dict[str, float]:
    """Paired comparison of two per-question arrays (NaN pairs dropped): means, change, t-test, Cohen's d_z.
    `clusters` (each pair's topic, or its question when a question appears in several pairs) makes the t-test's
    SE cluster-robust over them (df = clusters − 1): pairs of one topic move together. Without, scipy's paired
    t-test."""
    from ..resampling import clusters_of, mean_test

    keep = ~(np.isnan(base) | np.isnan(primed))
    b, p = base[keep], primed[keep]
    units = None if clusters is None else [c for c, k in zip(clusters, keep, strict=True) if k]
    out: dict[str, float] = {"n": int(len(b)), "base_mean": float(b.mean()) if len(b) else float("nan"),
                             "primed_mean": float(p.mean()) if len(b) else float("nan")}
    out["change"] = out["primed_mean"] - out["base_mean"]
    out["change_pct"] = out["change"] / out["base_mean"] * 100 if out["base_mean"] else float("nan")
    diff = p - b
    if len(b) >= 2 and diff.std(ddof=1) > 0:
        from scipy.stats import t as t_dist

        mean, se, df = mean_test(diff, clusters_of(units, len(diff)))
        stat = mean / se if se > 0 else float("nan")
        p_value = float(2 * t_dist.sf(abs(stat), df)) if df >= 1 and np.isfinite(stat) else float("nan")
        out.update(t=float(stat), p=p_value, cohen_d=float(diff.mean() / diff.std(ddof=1)))
    else:  # fewer than 2 pairs, or every pair moved by the same amount: no test
        out.update(t=float("nan"), p=float("nan"), cohen_d=float("nan"))
    return out


def priming_effects(vectors: dict[str, np.ndarray], theory: Theory, primed: list[str],
                    topics: Sequence[object] | None = None) -> Any:
    """vectors: condition -> questions × dims of P(expressed) (NaN: no usable answer). One row per (primed
    value, relation), plus pooled rows (primed = 'all') that gather every primed value's pairs. `topics` (each
    question's seed topic) makes the tests cluster-robust over topics; the pooled rows' clusters are always at
    least the question, which appears once per primed value with one shared baseline."""
    import pandas as pd

    base = vectors[BASELINE]
    n_q = len(base)
    units = list(topics) if topics is not None and any(t is not None for t in topics) else None
    per_question = [u if u is not None else f"question {q}" for q, u in enumerate(units or [None] * n_q)]
    ids = theory.ids
    rows: list[dict[str, Any]] = []
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {r: ([], []) for r in RELATIONS}
    for dim in primed:
        for relation, dims in related(theory, dim).items():
            if not dims:
                rows.append({"primed": dim, "relation": relation, "dimensions": "", "n": 0})
                continue
            cols = [ids.index(d) for d in dims]
            # a group's mean over the values labelled in both conditions, so both means cover the same values
            both = ~np.isnan(base[:, cols]) & ~np.isnan(vectors[dim][:, cols])
            with warnings.catch_warnings():  # a question with no value labelled in both: NaN, dropped by the test
                warnings.simplefilter("ignore", RuntimeWarning)
                b = np.nanmean(np.where(both, base[:, cols], np.nan), axis=1)
                p = np.nanmean(np.where(both, vectors[dim][:, cols], np.nan), axis=1)
            rows.append({"primed": dim, "relation": relation, "dimensions": ",".join(dims),
                         **paired_effect(b, p, units)})
            pooled[relation][0].append(b)
            pooled[relation][1].append(p)
    for relation, (bs, ps) in pooled.items():
        if bs:
            rows.append({"primed": "all", "relation": relation, "dimensions": "",
                         **paired_effect(np.concatenate(bs), np.concatenate(ps), per_question * len(bs))})
    table = pd.DataFrame(rows)
    table["test_unit"] = "topics" if units is not None else "questions (no topics)"
    return table


@dataclass
class Priming:
    effects: Any  # DataFrame: model, primed, relation, dimensions, n, base_mean, primed_mean, change, change_pct, t, p, cohen_d
    answers: Any  # DataFrame: one row per (condition, question)
    failures: list[dict[str, Any]]
    run_dir: Path | None = None
    stopped: str | None = None  # why units were left for --resume (a cost cap)
    left: int = 0


async def _measure(store: RunStore, pool: ModelPool, theory: Theory, model: str, conditions: list[str],
                   questions: list[Question]) -> UnitsResult:
    config = store.config
    ev = config.evaluation
    sampling = GenerateConfig(temperature=config.sampling.temperature, top_p=config.sampling.top_p,
                              seed=config.sampling.seed)

    async def one(condition: str, q: Question) -> dict[str, Any]:
        record: dict[str, Any] = {"key": f"{model}|{condition}|{q.id}", "condition": condition, "model": model,
                                  "question_id": q.id, "question": q.text}
        system = None if condition == BASELINE else prime_prompt(theory, condition, config.prompts)
        try:
            answer = await measure_answer(pool.get(model), pool.get(config.roles.judge), theory, q.text, ev,
                                          sampling=sampling, system=system, prompts=config.prompts)
            record.update({**answer.opinion.as_record(), "vector": answer.vector})
        except OutputParseError as exc:
            record.update({"vector": None, "parse_failure": str(exc)})
        return record

    units = [Unit("answers", f"{model}|{c}|{q.id}", partial(one, c, q)) for c in conditions for q in questions]
    return await run_phase(store, pool, units, label=f"prime: {model}", models=[model, config.roles.judge],
                           max_cost=ev.max_cost, embeddings=ev.opinion_rules.enabled, theory=theory.name)


def priming(benchmark: Path | str, config: RunConfig | None = None, out: Path | None = None, *,
            model: str | None = None, dimensions: list[str] | None = None, limit: int | None = 10,
            resume: bool = False, seed: int = 0, dedupe: bool = False) -> Priming:
    """Prime `model` (default: the first target) towards each value in `dimensions` (default: all) on at most
    `limit` questions of the benchmark (a seeded sample), and measure how its profile moves."""
    return run_sync(priming_async(benchmark, config, out, model=model, dimensions=dimensions, limit=limit,
                                  resume=resume, seed=seed, dedupe=dedupe))


async def priming_async(benchmark: Path | str, config: RunConfig | None = None, out: Path | None = None, *,
                        model: str | None = None, dimensions: list[str] | None = None, limit: int | None = 10,
                        resume: bool = False, seed: int = 0, dedupe: bool = False) -> Priming:
    """`priming` for code already in an event loop."""
    questions = sample_questions(load_questions(benchmark, dedupe=dedupe), limit, seed)
    if len(questions) < 2:
        raise ConfigError(f"priming needs at least 2 questions for a paired test; {benchmark} has {len(questions)}")
    if config is not None:
        _check_theory(load_theory(config.evaluation.theory), dimensions)
    store = RunStore.open(out or Path("runs") / "prime", config, "prime", resume)
    config = store.config
    theory = load_theory(config.evaluation.theory)
    primed = _check_theory(theory, dimensions)
    model = model or store.get("model") or config.roles.targets[0]
    store.put("model", model)  # a resume with another --model adds that model's answers beside the first's
    conditions = [BASELINE, *primed]
    result = await run_job_async(store, lambda pool: _measure(store, pool, theory, model, conditions, questions),
                                 lambda r: bool(r.failures or r.stopped))
    summary = summarize_priming(Path(store.path), theory, conditions, questions, model, result.failures)
    summary.stopped, summary.left = result.stopped, result.left
    return summary


def _check_theory(theory: Theory, dimensions: list[str] | None) -> list[str]:
    if not theory.groups:
        raise ConfigError(f"theory '{theory.name}' has no higher-order groups: priming compares the target value "
                          "with its own group and the opposite one, so the theory file needs `groups:`")
    for d in dimensions or []:
        theory.dimension(d)  # names the unknown one
    return list(dimensions or theory.ids)


def summarize_priming(run_dir: Path, theory: Theory, conditions: list[str], questions: list[Question],
                      model: str, failures: list[dict[str, Any]] | None = None) -> Priming:
    import pandas as pd

    records = read_jsonl(run_dir / "outputs" / "answers.jsonl")
    q_index = {q.id: i for i, q in enumerate(questions)}
    vectors = {c: np.full((len(questions), len(theory.ids)), np.nan) for c in conditions}
    for r in records:
        if r.get("vector") and r["model"] == model and r["condition"] in vectors and r["question_id"] in q_index:
            vectors[r["condition"]][q_index[r["question_id"]]] = [
                np.nan if r["vector"].get(d) is None else r["vector"][d] for d in theory.ids]
    topics = [q.topic for q in questions]
    effects = priming_effects(vectors, theory, conditions[1:], topics if any(t is not None for t in topics) else None)
    effects.insert(0, "model", model)
    effects.to_csv(run_dir / "priming.csv", index=False)
    (run_dir / "priming.json").write_text(effects.to_json(orient="records", indent=1))
    _chart(effects, theory, run_dir / "priming.png", model)
    return Priming(effects, pd.DataFrame([r for r in records if r["model"] == model]), failures or [], Path(run_dir))


def _chart(effects: Any, theory: Theory, path: Path, model: str) -> None:
    from ..charts import _pyplot

    plt = _pyplot()
    primed = [p for p in dict.fromkeys(effects.primed) if p != "all"] + ["all"]
    fig, ax = plt.subplots(figsize=(2.5 + 0.9 * len(primed), 4.2))
    width = 0.27
    colors = {"target": "#2a9d8f", "same group": "#8ab17d", "opposite group": "#e76f51"}
    for k, relation in enumerate(RELATIONS):
        values = []
        for p in primed:
            row = effects[(effects.primed == p) & (effects.relation == relation)]
            values.append(float(row.change.iloc[0]) * 100 if len(row) and row.n.iloc[0] else 0.0)
        ax.bar(np.arange(len(primed)) + (k - 1) * width, values, width, label=relation, color=colors[relation])
    names = [theory.dimension(p).name if p != "all" else "all (pooled)" for p in primed]
    ax.set_xticks(range(len(primed)), labels=names, rotation=30, ha="right", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("change of P(expressed), percentage points")
    ax.set_title(f"Value priming of {model}: primed value, its group, the opposite group", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def load_priming(run_dir: Path | str) -> Priming:
    """A prime run's result from priming.csv and its answers (no model call)."""
    import pandas as pd

    path = Path(run_dir)
    if not (path / "priming.csv").exists():
        raise ConfigError(f"{path} holds no finished priming (no priming.csv): resume it first")
    answers = read_jsonl(path / "outputs" / "answers.jsonl")
    return Priming(pd.read_csv(path / "priming.csv"), pd.DataFrame(answers), [], path)
