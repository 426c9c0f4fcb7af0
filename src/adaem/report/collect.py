"""What a run directory holds, as plain data for the report: kind, status, profiles, questions and answers,
generation trajectory, statistics, usage. Reads files and the state database only; opens no session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import judge_quality
from ..errors import ConfigError
from ..evaluation import language_of
from ..store import merged_usage, read_jsonl, read_sessions, read_state, read_usage

KINDS = ("evaluate", "generate", "compare", "prime", "smoke")
SIMILARITY_SAMPLE = 1000  # questions embedded for the mean pairwise similarity of a large run


def is_run_dir(path: Path) -> bool:
    return (Path(path) / "state.sqlite").exists() and (Path(path) / "config.yaml").exists()


def _r(x: Any, digits: int = 3) -> Any:
    """Round for the page (smaller file); NaN/None become None (JSON null)."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return None if np.isnan(f) else round(f, digits)


@dataclass
class RunData:
    name: str
    path: str
    kind: str
    status: str  # finished | partial
    notes: list[str] = field(default_factory=list)  # why partial, what is missing
    info: list[str] = field(default_factory=list)  # how to read what is shown
    theory: dict[str, Any] | None = None
    models: list[str] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)  # id, text, category, country, score
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # qid -> model -> [stance, points, labels]
    stats: dict[str, Any] | None = None
    generation: dict[str, Any] | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # compare / priming results
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> family, size_b, kind, ...
    findings: list[dict[str, Any]] = field(default_factory=list)  # `adaem findings`: title, claim, images
    # an evaluate run answered in several languages (empty otherwise): the languages, first = scores' language
    languages: list[str] = field(default_factory=list)
    language_scores: list[dict[str, Any]] = field(default_factory=list)  # language, model, dim, score, rate
    consistency: list[dict[str, Any]] = field(default_factory=list)  # rows of language_consistency.csv
    judge: dict[str, Any] | None = None  # who labelled an evaluate run, and how good that judge measured
    analyses: list[dict[str, Any]] = field(default_factory=list)  # title, caption, rows, image (base64 PNG)

    def as_json(self) -> dict[str, Any]:
        return self.__dict__


def _answer_cell(stance: Any, points: list[dict[str, Any]] | None, vector: dict[str, float] | None,
                 dims: list[str], failure: str | None = None) -> list[Any]:
    """[stance, [[point, justification], ...], [P(value) per dimension] | null, parse failure | null]."""
    pts = [[p.get("point", ""), p.get("justification", "")] for p in (points or [])]
    labels = [_r(vector.get(d), 2) for d in dims] if vector else None
    return [stance, pts, labels, failure]


def _components(components: dict[str, Any] | None) -> dict[str, Any] | None:
    """S's components of a question, rounded; a component that was not measured stays null (shown as "–")."""
    from ..objective import COMPONENTS

    if not components:
        return None
    return {k: _r(components.get(k)) for k in COMPONENTS}


def _missing_note(vectors: list[dict[str, Any] | None]) -> str | None:
    """How many value labels the judge could not give (they sat out their matches and S's terms)."""
    labelled = [v for v in vectors if v]
    total = sum(len(v) for v in labelled)
    missing = sum(x is None for v in labelled for x in v.values())
    if not missing:
        return None
    return (f"{missing} of {total} value labels could not be given by the judge: each sits out its (question, "
            f"value) match and S's terms for that value, never counted as 0")


def _theory_data(theory) -> dict[str, Any]:
    return {"name": theory.name, "title": theory.title, "ids": theory.ids,
            "names": [theory.dimension(d).name for d in theory.ids]}


def _job(path: Path, sessions: list[dict[str, Any]]) -> str:
    if sessions:
        return sessions[0]["job"]
    for kind, marker in (("generate", "summary.json"), ("evaluate", "outputs/answers.jsonl")):
        if (path / marker).exists():
            return kind
    return "unknown"


def collect_run(run_dir: Path | str, *, similarity: bool = True) -> RunData:
    """Everything the report shows of one run directory; ConfigError if it is not a run."""
    from ..annotate.study import is_study_dir
    from ..config import load_config
    from ..theories import load_theory

    path = Path(run_dir)
    if is_study_dir(path):  # an `adaem annotate` study: no sessions, no models, its own tables
        return _collect_study(path)
    if not is_run_dir(path):
        raise ConfigError(f"{path} is not an adaem run directory (no state.sqlite and config.yaml)")
    sessions = read_sessions(path)
    data = RunData(name=path.name, path=str(path), kind=_job(path, sessions), status="finished")
    last = sessions[-1]["status"] if sessions else "unknown"
    if last != "finished":
        data.status = "partial"
        data.notes.append(f"the last session ended as '{last}': this shows what the run holds so far"
                          if last != "running" else "the last session never finished (killed, or still running): "
                          "this shows what the run holds so far")
    config = load_config(path / "config.yaml")
    theory = load_theory(config.evaluation.theory)
    data.theory = _theory_data(theory)
    data.usage = [{k: _r(v, 4) if isinstance(v, float) else v for k, v in u.items()} for u in merged_usage(read_usage(path))]
    if data.kind == "evaluate":
        _collect_evaluate(path, config, theory, data)
    elif data.kind == "generate":
        _collect_generate(path, config, theory, data)
    elif data.kind == "compare":
        data.tables["compare"] = _csv(path / "compare_summary.csv")
        data.questions = [{"id": r["question_id"], "text": r["question"], "category": r["set"], "country": None,
                           "score": _r(r["score"]), "components": _components(r.get("components"))}
                          for r in read_jsonl(path / "outputs" / "scores.jsonl")]
    elif data.kind == "prime":
        data.tables["priming"] = _csv(path / "priming.csv")
    if data.questions:
        data.stats = _question_stats([q["text"] for q in data.questions], similarity)
    data.facts = {m: facts for m in data.models if (facts := config.facts(m))}
    data.findings = _findings(path)
    data.analyses = _analyses(path)
    return data


def _analyses(path: Path) -> list[dict[str, Any]]:
    """Analyses an evaluate run holds beside its answers: `adaem subsets` (Appendix K.2) in RUN/subsets."""
    import base64

    from ..analysis.subsets import read_subsets

    out = []
    found = read_subsets(path / "subsets")
    if found is not None:
        s = found["settings"]
        image = path / "subsets" / "subsets.png"
        out.append({"title": "How many questions are enough (Appendix K.2)",
                    "caption": f"Agreement of random subsets' profiles with the whole benchmark's ({s['questions']} "
                               f"questions), {s['draws']} subsets per size: mean, spread over subsets (draws_lo–"
                               f"draws_hi) and a {s['confidence']:.0%} interval over {s['unit']}.",
                    "rows": [{k: _r(v) for k, v in r.items()} for r in found["rows"]],
                    "image": base64.b64encode(image.read_bytes()).decode() if image.exists() else None})
    return out


def collect_across(runs: list[RunData]) -> dict[str, Any] | None:
    """Which of the report's benchmarks tells the models apart (Fig. 8a, Table 15): computed when two or more
    evaluate runs share a theory and at least two models; None otherwise."""
    from ..analysis.distinguishability import distinguishability

    evaluated = [r for r in runs if r.kind == "evaluate" and r.theory]
    if len(evaluated) < 2:
        return None
    theory = evaluated[0].theory
    assert theory is not None
    same = [r for r in evaluated if r.theory == theory]
    shared = [m for m in same[0].models if all(m in r.models for r in same[1:])]
    if len(same) < 2 or len(shared) < 2:
        return None
    result = distinguishability([r.path for r in same], names=[r.name for r in same])
    return {"models": result.models, "values": theory["ids"], "names": theory["names"],
            "benchmarks": [{k: _r(v) for k, v in row.items()} for row in result.table.to_dict(orient="records")],
            "tests": [{k: _r(v) for k, v in row.items()} for row in result.tests.to_dict(orient="records")],
            "profiles": {k: [[_r(x) for x in row] for row in v.tolist()] for k, v in result.profiles.items()},
            "settings": result.settings}


def _collect_study(path: Path) -> RunData:
    """An `adaem annotate` study: the paper's table, the agreement, every two raters and each rater against the
    rest, as result tables of text (the report prints them as they are); outlier raters as warnings. The figures
    are `annotate_results` as the study's analysis plan says, exactly what `adaem annotate results` prints."""
    from ..annotate.results import TOO_FEW, annotate_results

    res = annotate_results(path)
    data = RunData(name=path.name, path=str(path), kind="annotate", status="partial" if res.notes else "finished",
                   notes=list(res.notes))
    lo, hi = res.scale
    level = f"{res.plan.confidence:.0%}"
    data.info = [f"{res.generated_name} against {res.baseline_name}; ratings on {lo}–{hi}, mean [{level} CI]",
                 *(f"warning: {w}" for w in res.warnings),
                 *(f"deviation from the pre-registered plan: {d}" for d in res.deviations),
                 *res.methods, f"analysis plan sha256 {res.plan_sha256}"]

    def ci(mid: Any, a: Any, b: Any, pct: bool = False) -> str:
        f = (lambda x: "–" if _r(x) is None else f"{x:+.1%}") if pct else (lambda x: "–" if _r(x) is None else f"{x:.2f}")
        return f"{f(mid)} [{f(a)}, {f(b)}]"

    def p(x: Any) -> str:
        return "–" if _r(x) is None else "< 0.001" if x < 0.001 else f"{x:.3f}"

    data.tables["human evaluation"] = [
        {"metric": r["metric"], res.baseline_name: ci(r["baseline"], r["baseline_lo"], r["baseline_hi"]),
         res.generated_name: ci(r["generated"], r["generated_lo"], r["generated_hi"]),
         "gain": ci(r["gain"], r["gain_lo"], r["gain_hi"], pct=True),
         "mean difference": "–" if _r(r["difference"]) is None else f"{r['difference']:+.2f}",
         "p (paired permutation)": p(r["p_value"]), "p (Holm)": p(r["p_holm"]), "pairs": r["pairs"]}
        for r in res.table.to_dict("records")]
    data.tables["inter-rater agreement"] = [
        {"metric": r["metric"], f"Cohen's κ (mean pairwise, {res.plan.weights})": _r(r["cohen_kappa"]),
         "rater pairs": r["rater_pairs"], f"pairs sharing < {res.plan.min_overlap}": r["pairs_too_few"],
         "Fleiss' κ": _r(r["fleiss_kappa"]), "Krippendorff's α (ordinal)": _r(r["krippendorff_alpha"]),
         "questions": r["items"], "raters": r["raters"]} for r in res.agreement.to_dict("records")]
    keys = res.metrics
    data.tables["every two raters"] = [
        {"raters": f"{r['rater_a']} – {r['rater_b']}", "shared questions": r["shared_questions"],
         **{name: (r["note"] or TOO_FEW) if r[key] is None or r[key] != r[key] else _r(r[key])
            for key, name in keys.items()}} for r in res.pairs.to_dict("records")]
    data.tables["each rater against the rest"] = [
        {"rater": r["rater"], "ratings": r["ratings"], "shared questions": r["shared_questions"],
         "κ with the others": _r(r["kappa_with_others"]) if r["kappa_with_others"] is not None else (r["agreement"] or "–"),
         "the others among themselves": _r(r["kappa_among_others"]),
         **({"attention checks": f"{r['checks_passed']} / {r['checks_answered']} passed"
             if r["checks_answered"] else "–"} if res.raters["checks_assigned"].notna().any() else {}),
         "median s / question": _r(r["median_seconds"], 1),
         "": "outlier" if r["flagged"] else (r["excluded"] or "")}
        for r in res.raters.to_dict("records")]
    return data


def _findings(path: Path) -> list[dict[str, Any]]:
    """What `adaem findings` wrote to RUN/findings, its PNGs inlined (the report is one self-contained file)."""
    import base64

    from ..analysis.findings_run import load_findings

    out = []
    for finding in load_findings(path) or []:
        images = [base64.b64encode((path / "findings" / name).read_bytes()).decode()
                  for name in finding.get("files", []) if name.endswith(".png") and (path / "findings" / name).exists()]
        out.append({"title": finding["title"], "claim": finding.get("claim"), "not_shown": finding.get("not_shown"),
                    "unit": finding.get("unit") or "", "images": images})
    return out


def _csv(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    import pandas as pd

    frame = pd.read_csv(path)
    return [{k: _r(v, 4) if isinstance(v, float) else v for k, v in row.items()} for row in frame.to_dict("records")]


def _question_stats(texts: list[str], similarity: bool) -> dict[str, Any] | None:
    from ..analysis.stats import BLEU_SETTINGS, question_set_stats

    texts = [t for t in texts if t and t.strip()]
    if len(texts) < 2:
        return None
    encoder = None
    if similarity:
        from ..embeddings import default_encoder

        encoder = default_encoder()
    stats = question_set_stats("questions", texts, encoder, similarity_sample=SIMILARITY_SAMPLE)
    notes = BLEU_SETTINGS
    if similarity and len(texts) > SIMILARITY_SAMPLE:
        notes += f"; similarity over a seeded sample of {SIMILARITY_SAMPLE} questions"
    return {"questions": stats.questions, "avg_words": _r(stats.avg_words, 2), "self_bleu": _r(stats.self_bleu, 2),
            "distinct_2": _r(stats.distinct_2), "semantic_similarity": _r(stats.semantic_similarity),
            "notes": notes}


def _collect_evaluate(path: Path, config, theory, data: RunData) -> None:
    from ..evaluation import read_evaluation
    from ..rating import score_table

    run = read_evaluation(path)
    dims = theory.ids
    data.models = run.models
    languages = _answer_languages(run.records, config)
    records = run.records
    if len(languages) > 1:  # the profiles and the question browser show the first language; Languages compares
        records = [r for r in run.records if language_of(r) == languages[0]]
    scores_file = path / "scores.json"
    saved = json.loads(scores_file.read_text()) if scores_file.exists() else {}
    try:
        data.judge = saved.get("judge_quality") or judge_quality(config, theory.name)
    except ConfigError as exc:  # a judge-check run named in the config that is gone: said, not fatal
        data.info.append(str(exc))
    if scores_file.exists() and data.status == "finished":
        rows = saved["scores"]
        if saved.get("ci_note"):
            data.info.append(f"score intervals: {saved['ci_note']}")
    else:  # an interrupted run: score what was answered, without bootstrap CIs
        labels = run.labels()
        answered = ~np.isnan(labels).all(axis=(1, 2))
        rows = []
        if answered.sum() >= 1:
            ev = config.evaluation
            table = score_table(labels[answered], run.models, dims, system=ev.rating, win=ev.win_probability, threshold=ev.threshold,
                                bootstrap=0)
            rows = [{"model": m, "dimension": d, "score": table.score[i, j], "score_lo": None, "score_hi": None,
                     "rate": table.rate[i, j], "rate_lo": None, "rate_hi": None}
                    for i, m in enumerate(run.models) for j, d in enumerate(dims)]
            data.notes.append(f"scores computed from the {int(answered.sum())} questions answered so far, "
                              "without confidence intervals")
    data.scores = [{"model": r["model"], "dim": r["dimension"], **{k: _r(r.get(k), 2) for k in
                   ("score", "score_lo", "score_hi", "rate", "rate_lo", "rate_hi")}} for r in rows]
    benchmark = _benchmark_path(path)
    expected = None
    if benchmark is not None:
        try:
            from ..benchmark import load_questions

            expected = load_questions(benchmark, dedupe=True)  # the run refused repeats or dropped them
        except ConfigError:
            expected = None
    questions = expected or run.questions
    by_q: dict[str, dict[str, Any]] = {}
    for r in records:
        by_q.setdefault(r["question_id"], {})[r["model"]] = _answer_cell(
            r.get("stance"), r.get("points"), r.get("vector"), dims, r.get("parse_failure"))
    threshold = config.evaluation.threshold
    for q in questions:
        cells = by_q.get(q.id, {})
        data.questions.append({"id": q.id, "text": q.text, "category": q.category, "country": q.country,
                               "score": _disagreement(cells, threshold)})
    data.answers = by_q
    note = _missing_note([r.get("vector") for r in run.records])
    if note:
        data.info.append(note)
    if expected is not None:
        missing = len(expected) * len(run.models) - sum(len(c) for c in by_q.values())
        if missing > 0:
            data.status = "partial"
            data.notes.append(f"{missing} of {len(expected) * len(run.models)} answers are missing")
    if len(languages) > 1:
        _collect_languages(path, config, theory, run, languages, data)


def _answer_languages(records: list[dict[str, Any]], config) -> list[str]:
    """The languages the answers are in: in the order of evaluation.languages, then any other (first seen)."""
    seen = list(dict.fromkeys(language_of(r) for r in records))
    order = list(getattr(config.evaluation, "languages", None) or [])
    return [x for x in order if x in seen] + [x for x in seen if x not in order]


def _collect_languages(path: Path, config, theory, run, languages: list[str], data: RunData) -> None:
    """Scores per language and each model's consistency across languages: the run's CSVs when it finished,
    else computed from the answers so far (point estimates, no confidence intervals)."""
    import pandas as pd

    from ..analysis.languages import language_consistency
    from ..evaluation import label_tensor
    from ..rating import score_table

    data.languages = languages
    dims, ev = theory.ids, config.evaluation
    scores_file, consistency_file = path / "scores_by_language.csv", path / "language_consistency.csv"
    finished = data.status == "finished" and scores_file.exists() and consistency_file.exists()
    if finished:
        rows = pd.read_csv(scores_file, dtype={"language": str, "model": str, "dimension": str},
                           keep_default_na=False, na_values=[""]).to_dict("records")  # a code is never NaN
        consistency = _csv(consistency_file)
    else:
        tensors = {lang: label_tensor([r for r in run.records if language_of(r) == lang], run.questions, run.models,
                                      dims) for lang in languages}
        rows = []
        for lang, labels in tensors.items():
            table = score_table(labels, run.models, dims, system=ev.rating, win=ev.win_probability, threshold=ev.threshold, bootstrap=0)
            rows += [{"language": lang, "model": m, "dimension": d, "score": table.score[i, j],
                      "rate": table.rate[i, j]} for i, m in enumerate(run.models) for j, d in enumerate(dims)]
        per_model, _ = language_consistency(tensors, run.models, dims, threshold=ev.threshold, bootstrap=0,
                                            permutations=0)
        consistency = [{k: _r(v, 4) if isinstance(v, float) else v for k, v in row.items()}
                       for row in per_model.to_dict("records")]
        (data.notes if data.status == "partial" else data.info).append(
            "scores per language and consistency across languages computed from the answers"
            + (" so far" if data.status == "partial" else "") + ", without confidence intervals")
    data.language_scores = [{"language": str(r["language"]), "model": r["model"], "dim": r["dimension"],
                             "score": _r(r.get("score"), 2), "rate": _r(r.get("rate"), 2)} for r in rows]
    data.consistency = consistency
    data.info.append(f"answers in {len(languages)} languages ({', '.join(languages)}): the value profiles and the "
                     f"question browser show {languages[0]}; the Languages section compares them")


def _profiles_from_cells(data: RunData, config, dims: list[str]) -> None:
    """TrueSkill profiles of data.models from the answer cells (for runs that hold answers but no scores)."""
    from ..rating import score_table

    if len(data.models) < 2 or not data.answers:
        return
    qids = list(data.answers)
    labels = np.full((len(qids), len(data.models), len(dims)), np.nan)
    for i, qid in enumerate(qids):
        for j, m in enumerate(data.models):
            cell = data.answers[qid].get(m)
            if cell and cell[2]:
                labels[i, j] = [np.nan if v is None else v for v in cell[2]]
    ev = config.evaluation
    table = score_table(labels, data.models, dims, system=ev.rating, win=ev.win_probability, threshold=ev.threshold,
                        bootstrap=min(ev.bootstrap, 100), confidence=ev.confidence)
    data.scores = [{"model": m, "dim": d, **{k: _r(getattr(table, k)[i, j], 2) for k in
                    ("score", "score_lo", "score_hi", "rate", "rate_lo", "rate_hi")}}
                   for i, m in enumerate(data.models) for j, d in enumerate(dims)]
    if table.note:
        data.info.append(f"score intervals: {table.note}")


def _disagreement(cells: dict[str, list[Any]], threshold: float) -> float | None:
    """How much the models' value labels differ on a question: mean over dimensions of the share of model
    pairs that disagree (0 = all alike). The score the question browser filters evaluate runs by."""
    vectors = [c[2] for c in cells.values() if c[2]]
    if len(vectors) < 2:
        return None
    labels = np.array([[np.nan if v is None else v for v in vec] for vec in vectors], dtype=float)
    here = ~np.isnan(labels)
    x = (np.nan_to_num(labels) >= threshold) & here
    k, n = x.sum(axis=0), here.sum(axis=0)
    pairs = n * (n - 1) / 2
    shares = np.divide(k * (n - k), pairs, out=np.full(len(k), np.nan), where=pairs > 0)
    return _r(float(np.nanmean(shares))) if np.any(pairs > 0) else None


def _benchmark_path(path: Path) -> Path | None:
    stored = read_state(path, "benchmark")
    return Path(stored) if stored and Path(stored).exists() else None


def _collect_generate(path: Path, config, theory, data: RunData) -> None:
    dims = theory.ids
    records = read_jsonl(path / "outputs" / "benchmark.jsonl")
    selected = {r["id"] for r in read_jsonl(path / "benchmark.jsonl")}  # the benchmark: the high-scoring ones
    data.models = list(config.roles.scorers)
    for r in records:
        p2 = r.get("p2") or {}
        data.questions.append({"id": r["id"], "text": r["question"], "category": r.get("category"),
                               "country": r.get("country"), "score": _r(r.get("p2_score")),
                               "components": _components(p2.get("components")), "selected": r["id"] in selected})
        data.answers[r["id"]] = {m: _answer_cell(a.get("stance"), a.get("points"), a.get("vector"), dims,
                                                 a.get("parse_failure"))
                                 for m, a in (p2.get("answers") or {}).items()}
    _profiles_from_cells(data, config, dims)
    note = _missing_note([a.get("vector") for r in records for a in ((r.get("p2") or {}).get("answers") or {}).values()])
    if note:
        data.info.append(note)
    if data.scores:
        data.info.append("value profiles: the scorers (P2) on the generated questions, from the answers that "
                         "scored them")
    summary_file = path / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    if summary is None:
        data.status = "partial"
        data.notes.append("no summary.json yet: the run stopped before writing its benchmark")
    rejected = read_jsonl(path / "outputs" / "rejected.jsonl")
    reasons: dict[str, int] = {}
    for r in rejected:
        reasons[r.get("reason", "?")] = reasons.get(r.get("reason", "?"), 0) + 1
    data.generation = {
        "trajectory": [{k: _r(v) for k, v in t.items()} for t in (summary or {}).get("trajectory", [])],
        "arms": [{"topic": a["topic"], "category": a.get("category"), "pulls": a.get("pulls"),
                  "mean": _r(a.get("mean")), "questions": len(a.get("questions", []))}
                 for a in (summary or {}).get("arms", [])],
        "stopped": (summary or {}).get("stopped"),
        "mean_p2_score": _r((summary or {}).get("mean_p2_score")),
        "seed_mean": _r(np.mean([s["score"] for s in read_jsonl(path / "outputs" / "seed_scores.jsonl")
                                 if s.get("score") is not None]) if (path / "outputs" / "seed_scores.jsonl").exists()
                        else None),
        "rejected": reasons,
        "selection": (summary or {}).get("selection"),
        "calls_per_question": _r((summary or {}).get("calls_per_question"), 1),
        "tokens_per_question": _r((summary or {}).get("tokens_per_question"), 0),
    }
