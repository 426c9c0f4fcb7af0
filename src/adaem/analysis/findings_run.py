"""`adaem findings RUN`: the paper's findings about a run, each said in words only when its test passes.

An evaluate run gets every analysis its data allows (models' facts from the config's `model_info` and the
embedded catalogue): profile similarity and whether families are closer, group differences for each fact that
splits the models in two, newer models and the theory's safety-related values, amplification with size, size
trends within families, shifts between topic categories, and two models' divergence by region. An analysis the
design cannot support (too few models, no sizes, no categories) is listed as not shown with why; the others
still run. One correction (Benjamini–Hochberg) runs over every test of the report, and each claim is said from
it. A generate run gets its informativeness per pull against the mean S of the question sets of `--against`
compare runs. Tables, findings.json and PNGs go to RUN/findings/ (the report shows them); every table names
its resampling unit and the correction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import load_config
from ..errors import ConfigError
from ..store import read_jsonl, read_sessions
from . import findings as f
from . import findings_plots as plots
from .claims import adjust_report

FACT_KEYS = ("kind", "region", "vendor", "family")  # a fact that splits the models in two is a group test


@dataclass
class Finding:
    """One analysis: what it tested, the claim (only when shown), why not otherwise, its files."""

    name: str
    title: str
    claim: str | None
    not_shown: str | None
    files: list[str] = field(default_factory=list)
    unit: str = ""  # what the test treats as independent (topics, questions, models within families ...)

    def as_record(self) -> dict[str, Any]:
        return self.__dict__


@dataclass
class Findings:
    run_dir: Path
    out: Path
    findings: list[Finding]
    results: dict[str, Any]  # name -> the analysis' result object (DataFrames inside)

    @property
    def claims(self) -> list[str]:
        return [x.claim for x in self.findings if x.claim]


def _job(run: Path) -> str:
    sessions = read_sessions(run)
    if not sessions or not (run / "config.yaml").exists():
        raise ConfigError(f"{run} is not an adaem run directory (no state.sqlite and config.yaml)")
    return str(sessions[0]["job"])


def _write(out: Path, name: str, frames: dict[str, Any], unit: str, correction: str) -> list[str]:
    files = []
    for suffix, frame in frames.items():
        if frame is not None and len(frame):
            path = out / f"{name}{suffix}.csv"
            frame.assign(unit=unit, correction=correction).to_csv(path, index=False)
            files.append(path.name)
    return files


def _unit(result: Any) -> str:
    """What a result's test treats as independent, in words."""
    design = getattr(result, "design", "")
    unit = getattr(result, "unit", "")
    if isinstance(result, f.GroupDifference):
        return f"models: {design}" if result.unit == "model" else design
    if isinstance(result, f.ModelTrend):
        return f"models: {design}" if design else "models"
    if isinstance(result, f.ProfileSimilarity):
        return "models (family labels permuted)"
    return str(unit or design)


@dataclass
class _Planned:
    name: str
    title: str
    run: Any  # () -> result; may raise ConfigError: not run, listed with why
    frames: Any  # result -> {suffix: DataFrame}
    plot: Any = None


def evaluate_findings(run: Path, out: Path, *, alpha: float, seed: int, pair: tuple[str, str] | None,
                      resamples: int, permutations: int) -> tuple[list[Finding], dict[str, Any], dict[str, Any]]:
    config = load_config(run / "config.yaml")
    models = config.roles.targets
    meta = {m: config.facts(m) for m in models}
    from ..evaluation import language_of
    from ..theories import load_theory

    main = config.evaluation.languages[0]  # findings compare models within one language
    records = [r for r in read_jsonl(run / "outputs" / "answers.jsonl") if language_of(r) == main]
    labels = f.tidy_labels(records, threshold=config.evaluation.threshold)
    if labels.empty:
        raise ConfigError(f"{run} holds no labelled answers yet")
    cube = f.label_cube(labels, models=[m for m in models if m in set(labels.model)])
    theory = load_theory(config.evaluation.theory)
    common: dict[str, Any] = {"alpha": alpha, "seed": seed}
    plan = [_Planned("similarity", "Profile similarity between models (and families)",
                     lambda: f.profile_similarity(cube, meta, key="family", permutations=permutations,
                                                  resamples=resamples, **common),
                     lambda r: {"": r.correlation.reset_index(names="model")}, plots.similarity_heatmap)]
    for key in FACT_KEYS:
        groups = sorted({str(meta[m][key]) for m in cube.models if meta[m].get(key) is not None})
        if len(groups) == 2:
            plan.append(_Planned(f"groups_{key}", f"{key}: {groups[0]} vs {groups[1]}, per value",
                                 lambda key=key: f.group_difference(cube, meta, key=key, permutations=permutations,
                                                                    **common),
                                 lambda r: {"": r.table}, plots.group_forest))
    plan.append(_Planned("safety", "Newer models and the safety-related values (" + ", ".join(theory.safety) + ")",
                         lambda: _safety(cube, meta, list(theory.safety), permutations, common),
                         lambda r: {"": r.table}))
    plan.append(_Planned("amplification", "Larger models further from the pool (within families)",
                         lambda: f.amplification(cube, meta, permutations=permutations, **common),
                         lambda r: {"": r.table}))
    plan.append(_Planned("size_trend", "Size trends within families",
                         lambda: f.size_trend(cube, meta, resamples=resamples, **common), lambda r: {"": r.table}))
    plan.append(_Planned("categories", "Profiles per topic category, and shifts between them",
                         lambda: f.category_profiles(cube, **common),
                         lambda r: {"": r.profiles, "_shifts": r.shifts}, plots.category_small_multiples))
    plan.append(_Planned("regions", "Two models by region of the question",
                         lambda: _regions(cube, meta, pair, common),
                         lambda r: {"": r.table}, plots.region_divergence_bars))

    done: list[tuple[_Planned, Any]] = []
    skipped: list[Finding] = []
    for item in plan:
        try:
            done.append((item, item.run()))
        except ConfigError as exc:
            if "--pair" in str(exc):
                raise
            skipped.append(Finding(item.name, item.title, None, f"not run: {exc}"))
    report = adjust_report([r for _, r in done], alpha)
    correction = f"{report['correction']} over the {report['tests']} tests of this report (alpha {alpha})"
    found: list[Finding] = []
    results: dict[str, Any] = {}
    for item, result in done:
        unit = _unit(result)
        files = _write(out, item.name, item.frames(result), unit, correction)
        if item.plot is not None:
            files.append(item.plot(result, out / f"{item.name}.png").name)
        results[item.name] = result
        found.append(Finding(item.name, item.title, result.claim, result.not_shown, files, unit))
    order = [p.name for p in plan]
    found = sorted(found + skipped, key=lambda x: order.index(x.name))
    return found, results, report


def _safety(cube: Any, meta: dict[str, dict[str, Any]], safety: list[str], permutations: int,
            common: dict[str, Any]) -> Any:
    if not safety:
        raise ConfigError("the theory marks no value as safety-related (`safety:` in its file)")
    if not any(meta[m].get("release") or meta[m].get("generation") is not None for m in cube.models):
        raise ConfigError("no model has a release date or generation in model_info")
    return f.safety_preference(cube, meta, safety, permutations=permutations, **common)


def _regions(cube: Any, meta: dict[str, dict[str, Any]], pair: tuple[str, str] | None,
             common: dict[str, Any]) -> Any:
    if "region" not in cube.attrs.columns or not cube.attrs["region"].notna().any():
        raise ConfigError("no question names a country or region")
    if len(cube.models) < 2:
        raise ConfigError("regional divergence compares two models; the run has one")
    a, b = pair or _default_pair(cube.models, meta)
    for m in (a, b):
        if m not in cube.models:
            raise ConfigError(f"--pair: {m} is not a model of this run ({', '.join(cube.models)})")
    return f.region_divergence(cube, a, b, contrast="elsewhere", **common)


def _default_pair(models: list[str], meta: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """Two models made in different regions (the paper's GLM-4 vs GPT-4-Turbo), else the first two."""
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            ra, rb = meta[a].get("region"), meta[b].get("region")
            if ra and rb and ra != rb:
                return a, b
    return models[0], models[1]


def generate_findings(run: Path, out: Path, against: list[Path]) -> tuple[list[Finding], dict[str, Any]]:
    import pandas as pd

    scores = f.pull_scores(read_jsonl(run / "benchmark.jsonl"))
    baselines: dict[str, float] = {}
    for other in against:
        summary = other / "compare_summary.csv"
        if not summary.exists():
            raise ConfigError(f"--against {other}: not a finished `adaem compare` run (no compare_summary.csv)")
        for row in pd.read_csv(summary).to_dict("records"):
            baselines[f"{row['set']} ({other.name})"] = float(row["mean"])
    curve = f.informativeness_curve(scores, baselines)
    passed = curve.baselines.dropna(subset=["above_from"])
    claim = "; ".join(f"the running mean S stays above {r['name']} (S {r['mean']:.3f}) from pull {int(r['above_from'])}"
                      for r in passed.to_dict("records")) or None
    why = None if claim else ("no --against compare run: no baseline to pass" if not baselines
                              else "the running mean S does not stay above any baseline")
    curve_with_claim = _Described(curve, claim, why)
    files = _write(out, "informativeness", {"": curve.curve, "_baselines": curve.baselines}, "none (descriptive)",
                   "none (no test)")
    files.append(plots.informativeness_plot(curve, out / "informativeness.png").name)
    note = ("descriptive: baselines are comparable only when scored under the run's scorers (compare --models "
            "<the run's scorers>)")
    return [Finding("informativeness", f"Informativeness per pull ({note})", claim, why, files)], \
        {"informativeness": curve_with_claim}


@dataclass
class _Described:
    result: Any
    claim: str | None
    not_shown: str | None


def run_findings(run_dir: Path | str, *, against: Sequence[Path | str] | None = None, out: Path | str | None = None,
                 alpha: float = 0.05, seed: int = 0, pair: tuple[str, str] | None = None, resamples: int = 200,
                 permutations: int = 10_000) -> Findings:
    """Every finding the run allows, written to `out` (default RUN/findings/): findings.json, CSVs, PNGs."""
    run = Path(run_dir)
    job = _job(run)
    target = Path(out) if out is not None else run / "findings"
    target.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"correction": None, "tests": 0}
    if job == "evaluate":
        found, results, report = evaluate_findings(run, target, alpha=alpha, seed=seed, pair=pair,
                                                   resamples=resamples, permutations=permutations)
    elif job == "generate":
        found, results = generate_findings(run, target, [Path(a) for a in against or []])
    else:
        raise ConfigError(f"findings: {run} is a {job} run; give an evaluate run (models' findings) or a generate "
                          "run (informativeness per pull, with --against compare runs)")
    (target / "findings.json").write_text(json.dumps({
        "run": str(run), "job": job, "alpha": alpha, "seed": seed, "multiplicity": report,
        "findings": [x.as_record() for x in found]}, indent=1))
    return Findings(run, target, found, results)


def load_findings(run_dir: Path | str) -> list[dict[str, Any]] | None:
    """The findings a run's findings/ directory holds (for the report), or None."""
    path = Path(run_dir) / "findings" / "findings.json"
    return json.loads(path.read_text())["findings"] if path.exists() else None
