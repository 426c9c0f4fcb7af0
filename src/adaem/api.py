"""The functions a researcher calls from a script or a notebook: `adaem.evaluate(...)` and the rest.

Each takes models and settings as arguments (or a whole `RunConfig`, a YAML path or a dict as `config=`) and
returns a typed result with pandas DataFrames and the run directory it came from. Every call gets a new run
directory under ./runs unless `out=` names one (with `resume=True`, an existing run continues). The sync
functions work from plain scripts and inside a running event loop (Jupyter); `*_async` twins are for async code.
Settings beyond the named arguments are dotted config paths spelled with `__`: `evaluation__bootstrap=50`.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import RunConfig, load_config, parse_config, set_path
from .errors import ConfigError
from .jobs import sync_twin
from .store import read_sessions, write_jsonl

if TYPE_CHECKING:
    from .analysis.compare import Comparison
    from .analysis.distinguishability import Distinguishability
    from .analysis.findings_run import Findings
    from .analysis.judge_check import JudgeCheck
    from .analysis.priming import Priming
    from .analysis.reliability import Reliability
    from .analysis.subsets import SubsetConsistency
    from .annotate.results import AnnotationResults
    from .evaluation import Evaluation
    from .generation.job import GenerateResult

_counter = itertools.count(1)


def _run_dir(job: str, out: str | Path | None) -> Path:
    """`out`, or a new directory per call (the same second and process included), said on stderr."""
    if out is not None:
        return Path(out)
    path = Path("runs") / f"{job}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_counter)}"
    print(f"adaem: {job} run directory {path}", file=sys.stderr)
    return path


def build_config(config: RunConfig | str | Path | dict[str, Any] | None, fields: dict[str, Any],
                 settings: dict[str, Any]) -> RunConfig:
    """A run's config from a base (RunConfig, YAML path, dict or the defaults), the named arguments (dotted path →
    value; None means unchanged) and `settings` (`section__field` → value)."""
    if isinstance(config, RunConfig):
        data = config.model_dump(mode="json")
    elif isinstance(config, dict):
        data = json.loads(json.dumps(config))
    elif config is not None:
        data = load_config(Path(config)).model_dump(mode="json")
    else:
        data = {}
    for dotted, value in fields.items():
        if value is not None:
            set_path(data, dotted, value)
    for key, value in settings.items():
        set_path(data, key.replace("__", "."), value)
    return parse_config(data, "settings")


def _with_preset(config: Any, preset: str | None) -> Any:
    """The base config of a call given `preset=`: the preset under a YAML path's or a dict's fields (as `--preset`
    with `--config` does); a whole RunConfig already holds every field, so it cannot sit over a preset."""
    if preset is None:
        return config
    if config is None or isinstance(config, str | Path):
        return load_config(Path(config) if config is not None else None, preset=preset).model_dump(mode="json")
    if isinstance(config, dict):
        from .config import _merge, preset_data

        return _merge(preset_data(preset), json.loads(json.dumps(config)))
    raise ConfigError("preset: give a preset with a YAML path or a dict of fields, not a whole RunConfig (it already "
                      "sets every field)")


def _questions_file(benchmark: Any, run_dir: Path, name: str = "input") -> Path:
    """A benchmark given as data is written into the run directory (JSON lines), so the run can be resumed and
    reported like any other; a path is used as it is."""
    if isinstance(benchmark, str | Path):
        return Path(benchmark)
    if hasattr(benchmark, "to_dict"):  # a pandas DataFrame
        rows = benchmark.to_dict(orient="records")
    else:
        rows = [{"question": b} if isinstance(b, str) else dict(b) for b in benchmark]
    if not rows:
        raise ConfigError("benchmark: no questions given")
    path = run_dir / f"{name}.jsonl"
    if not path.exists():  # a resumed run keeps the questions it started with
        run_dir.mkdir(parents=True, exist_ok=True)
        write_jsonl(path, rows)
    return path


# -- evaluate ------------------------------------------------------------------------------------------------
async def evaluate_async(benchmark: Any, models: Sequence[str] | str | None = None, *, judge: str | None = None,
                         theory: str | None = None, protocol: str | None = None, out: str | Path | None = None,
                         resume: bool = False, dedupe: bool = False, config: Any = None, preset: str | None = None,
                         **settings: Any) -> Evaluation:
    """Value profiles of `models` on a benchmark (a file path, a list of question strings or dicts, or a DataFrame
    with a `question` column): `.scores` (long: model, dimension, score and rate with CIs), `.profile()` (models ×
    values), `.answers` (one row per model and question), `.breakdowns`, `.run_dir`. `preset="paper"` evaluates
    as the paper does (per-opinion labels with Listing 4's prompt, binary OR, C.8's win probability)."""
    from .evaluation import evaluate_async as run

    cfg = build_config(_with_preset(config, preset), {"roles.targets": models, "roles.judge": judge, "evaluation.theory": theory,
                                "evaluation.protocol": protocol}, settings)
    run_dir = _run_dir("evaluate", out)
    return await run(_questions_file(benchmark, run_dir), cfg, run_dir, resume=resume, dedupe=dedupe)


evaluate = sync_twin(evaluate_async)




# -- generate ------------------------------------------------------------------------------------------------
async def generate_async(models: Sequence[str] | None = None, *, scorers: Sequence[str] | None = None,
                         generators: Sequence[str] | str | None = None, judge: str | None = None,
                         budget: int | None = None, preset: str | None = None, seeds: str | Path | None = None,
                         out: str | Path | None = None, resume: bool = False, config: Any = None,
                         **settings: Any) -> GenerateResult:
    """Search for questions on which `models` (the explorers, P1) express different values: `.benchmark` (a
    DataFrame of the questions with their scores), `.summary`, `.run_dir`. `preset="paper"` starts from the
    paper's settings; `resume=True` with `out=` continues or extends a run."""
    from .generation.job import generate_async as run

    cfg = build_config(_with_preset(config, preset), {"roles.explorers": models, "roles.scorers": scorers, "roles.generators": generators,
                              "roles.judge": judge, "generation.budget": budget,
                              "generation.seeds": str(seeds) if seeds else None}, settings)
    return await run(cfg, _run_dir("generate", out), resume=resume)


generate = sync_twin(generate_async)




def select(run: str | Path, *, top: float | None = None, min_score: float | None = None, per: str = "run",
           out: str | Path) -> Any:
    """Re-select a finished generate run's benchmark by another rule, without any model call: the top fraction of
    its accepted questions by P2 score, or those with a P2 score of at least `min_score`, over the run or per arm
    (`per="arm"`). Writes `out` (.jsonl or .parquet) and returns the selected questions as a DataFrame."""
    import pandas as pd

    from .config import Selection, first_error
    from .generation.job import select_benchmark

    try:
        rule = Selection(top=top, min_score=min_score, per=per)
    except ValueError as exc:
        raise ConfigError(f"select: {first_error(exc)}") from None
    rows, _ = select_benchmark(run, rule, Path(out))
    return pd.DataFrame(rows)


# -- analyses ------------------------------------------------------------------------------------------------
def stats(*benchmarks: Any, out: str | Path | None = None, similarity: bool = True, dedupe: bool = False) -> Any:
    """Diversity statistics of question sets (no model calls): a DataFrame with one row per set."""
    import tempfile

    from .analysis.stats import benchmark_stats

    with tempfile.TemporaryDirectory() as scratch:  # questions given as data need a file only for the moment
        files = [_questions_file(b, Path(scratch), f"set-{i + 1}") for i, b in enumerate(benchmarks)]
        names = [str(b) if isinstance(b, str | Path) else f"set-{i + 1}" for i, b in enumerate(benchmarks)]
        return benchmark_stats(files, Path(out) if out is not None else None, similarity=similarity, dedupe=dedupe,
                               names=names)


async def compare_async(*benchmarks: Any, models: Sequence[str] | None = None, judge: str | None = None,
                        limit: int | None = None, draws: int = 1, out: str | Path | None = None,
                        resume: bool = False, dedupe: bool = False, config: Any = None, preset: str | None = None,
                        **settings: Any) -> Comparison:
    """Informativeness S of two or more question sets under one pool (`models`): `.scores` (per question),
    `.summary` (per set: mean, CI, tests against the first), `.retest` (with draws ≥ 2), `.run_dir`.
    `preset="paper"` scores with the paper's C.3 score and prompts (Fig. 20's scale)."""
    from .analysis.compare import compare_sets_async

    cfg = build_config(_with_preset(config, preset), {"roles.explorers": models, "roles.judge": judge}, settings)
    run_dir = _run_dir("compare", out)
    files = [_questions_file(b, run_dir, f"set-{i + 1}") for i, b in enumerate(benchmarks)]
    return await compare_sets_async(files, cfg, run_dir, limit=limit, resume=resume, draws=draws, dedupe=dedupe)


compare = sync_twin(compare_async)




def findings(run: str | Path, *, against: Sequence[str | Path] | None = None, pair: Sequence[str] | None = None,
             alpha: float = 0.05, seed: int = 0, out: str | Path | None = None) -> Findings:
    """The paper's findings about an evaluate run (family similarity, group differences, newer models and
    safety-related values, amplification, size trends, category shifts, regional divergence; one Benjamini-
    Hochberg over all their tests) or a generate run (informativeness per pull against `against` compare runs):
    `.findings` (title, claim only when its test passes, else why not, unit), `.results` (the DataFrames), `.out`."""
    from .analysis.findings_run import run_findings

    return run_findings(run, against=list(against or []), out=out, alpha=alpha, seed=seed,
                        pair=(pair[0], pair[1]) if pair else None)


def reliability(run: str | Path, folds: int = 5, *, against: str | Path | None = None,
                out: str | Path | None = None, seed: int = 0) -> Reliability:
    """Cronbach's α over k folds of an evaluate run's questions, and agreement with another run (no model calls)."""
    from .analysis.reliability import reliability as run_reliability

    return run_reliability(run, folds, against=against, out=Path(out) if out else None, seed=seed)


def distinguish(*runs: str | Path, names: Sequence[str] | None = None, measure: str = "rate",
                out: str | Path | None = None) -> Distinguishability:
    """Which benchmark tells the same models apart (Fig. 8a, Table 15), from one evaluate run per benchmark:
    `.table` (per benchmark: mean pairwise correlation of the models' profiles, mean within-model SD, with
    intervals over topics), `.tests` (differences between benchmarks), `.profiles`. No model calls."""
    from .analysis.distinguishability import distinguishability

    return distinguishability(list(runs), names=list(names) if names else None, measure=measure,  # type: ignore[arg-type]
                              out=out)


def subsets(run: str | Path, sizes: Sequence[int] | None = None, *, draws: int = 20, resamples: int = 100,
            seed: int = 0, out: str | Path | None = None) -> SubsetConsistency:
    """How many questions are enough (Appendix K.2): `.table` (per size and metric: ICC, Pearson, Spearman,
    Cronbach's α between random subsets' profiles and the whole benchmark's). No model calls."""
    from .analysis.subsets import subsets as run_subsets

    return run_subsets(run, list(sizes) if sizes else None, draws=draws, resamples=resamples, seed=seed, out=out)


async def prime_async(benchmark: Any, model: str | None = None, *, dimensions: Sequence[str] | None = None,
                      limit: int | None = 10, judge: str | None = None, theory: str | None = None,
                      out: str | Path | None = None, resume: bool = False, dedupe: bool = False,
                      config: Any = None, preset: str | None = None, **settings: Any) -> Priming:
    """Value priming of one model: `.effects` (per primed value and relation: change, t, p, Cohen's d).
    `preset="paper"` primes with C.11's system message and evaluates as the paper does."""
    from .analysis.priming import priming_async

    cfg = build_config(_with_preset(config, preset), {"roles.judge": judge, "evaluation.theory": theory}, settings)
    run_dir = _run_dir("prime", out)
    return await priming_async(_questions_file(benchmark, run_dir), cfg, run_dir, model=model,
                               dimensions=list(dimensions) if dimensions else None, limit=limit, resume=resume,
                               dedupe=dedupe)


prime = sync_twin(prime_async)




def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else list(value) if value else None


async def judge_check_async(judge: str | Sequence[str] | None = None, *, theory: str | Sequence[str] | None = None,
                            labels: str | Path | None = None, protocol: str | Sequence[str] | None = None,
                            prompt: str | Sequence[str] | None = None, calibration: str | Path | None = None,
                            seed: int = 0, out: str | Path | None = None, resume: bool = False, config: Any = None,
                            unit: str | None = None, by_point: bool | None = None,
                            **settings: Any) -> JudgeCheck:
    """How well `judge` (or each of several judges) labels texts with known values (the set shipped for the theory,
    or `labels=`), per variant (theories × protocols × per-value prompts): `.summary` (held-out macro P/R/F1, top-k,
    ECE per correction, each with a bootstrap interval), `.per_value`, `.calibrations` (files for
    `evaluation__calibration=`), `.agreement` (Cohen's κ between judges), `.run_dir`. `calibration=` applies a saved
    calibration unchanged to `labels=` (external validation). `unit=`: the kind of text `labels=` holds ("opinion",
    default, or "answer": whole answers), which decides the runs its calibration applies to."""
    from .analysis.judge_check import judge_check_async as run

    judges = _as_list(judge)
    cfg = build_config(config, {"roles.judge": judges[0] if judges else None}, settings)
    return await run(cfg, _run_dir("judge-check", out), labels=labels, theories=_as_list(theory),
                     protocols=_as_list(protocol), prompts=_as_list(prompt), judges=judges, calibration=calibration,
                     seed=seed, resume=resume, unit=unit, by_point=by_point)


judge_check = sync_twin(judge_check_async)




def annotate_results(study: str | Path, *, resamples: int | None = None, permutations: int | None = None,
                     weights: str | None = None, confidence: float | None = None, seed: int | None = None,
                     min_overlap: int | None = None) -> AnnotationResults:
    """The human evaluation of an `adaem annotate` study (no model calls), as the study's pre-registered analysis
    plan says (a setting given here that differs from it is named in `.deviations`): `.table` (per metric each
    set's mean and bootstrap CI, the relative gain, a paired permutation test), `.agreement` (Cohen's κ over rater
    pairs sharing enough questions, Fleiss' κ, Krippendorff's α), `.pairs`, `.raters`, `.warnings` (outliers)."""
    from .annotate.results import annotate_results as run

    if weights is not None and weights not in ("quadratic", "linear", "none"):
        raise ConfigError(f"weights={weights!r}: use 'quadratic', 'linear' or 'none'")
    return run(Path(study), resamples=resamples, permutations=permutations, weights=weights, confidence=confidence,
               seed=seed, min_overlap=min_overlap)


# -- reading a run -------------------------------------------------------------------------------------------
def load_run(path: str | Path) -> Evaluation | GenerateResult | Comparison | Priming | JudgeCheck:
    """The result of a finished (or interrupted) run directory, read from its files without any model call."""
    path = Path(path)
    sessions = read_sessions(path)
    if not sessions or not (path / "config.yaml").exists():
        raise ConfigError(f"{path} is not an adaem run directory (no state.sqlite and config.yaml)")
    job = sessions[0]["job"]
    if job == "evaluate":
        from .evaluation import load_evaluation

        return load_evaluation(path)
    if job == "generate":
        from .generation.job import load_generation

        return load_generation(path)
    if job == "compare":
        from .analysis.compare import load_comparison

        return load_comparison(path)
    if job == "prime":
        from .analysis.priming import load_priming

        return load_priming(path)
    if job == "judge-check":
        from .analysis.judge_check import load_judge_check

        return load_judge_check(path)
    raise ConfigError(f"{path}: a '{job}' run has no result to load")


__all__ = ["annotate_results", "build_config", "compare", "compare_async", "evaluate", "evaluate_async", "generate", "generate_async",
           "judge_check", "judge_check_async", "load_run", "prime", "prime_async", "reliability", "select", "stats"]
