"""The `adaem` command: parses flags, builds the config, calls the Python API, prints.

Every AdaemError ends the command with one line on stderr naming the problem, and a non-zero exit.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from .annotate.cli import app as annotate_app
from .config import RunConfig, load_config
from .errors import AdaemError, ConfigError
from .store import default_run_dir
from .tables import (
    agreement_table,
    compare_table,
    estimate_table,
    frame_table,
    generated_table,
    judge_check_table,
    models_tables,
    preset_table,
    scores_table,
    smoke_table,
    usage_tables,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="AdAEM: generate value-eliciting questions and measure how LLMs' values differ.")
# Piped output (logs, CI) gets a wide fixed width instead of rich's 80 columns, so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override a config field: roles.judge=openai/gpt-4o")]


PresetOpt = Annotated[str | None, typer.Option("--preset", help="start from a preset: paper (the paper's procedure: "
                                               "Table 6, its C.3 score, its prompts; `adaem config --preset paper`)")]
DedupeOpt = Annotated[bool, typer.Option("--dedupe", help="keep the first of each repeated question")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="print the expected calls, tokens and cost; run nothing")]
BatchOpt = Annotated[bool, typer.Option("--batch", help="send each phase's calls through the batch API of every "
                                        "model whose endpoint has one (half price on OpenAI, Anthropic, Groq); the "
                                        "rest run live")]
BatchExportOpt = Annotated[Path | None, typer.Option("--batch-export", help="write each phase's requests of "
                                                     "OpenAI-compatible models as batch JSONL files here and stop "
                                                     "(run them with e.g. vLLM's run_batch)")]
BatchImportOpt = Annotated[Path | None, typer.Option("--batch-import", help="read the <model>.output.jsonl files "
                                                     "here into the call cache first")]


def _batch_flags(batch: bool, export: Path | None, import_: Path | None) -> list[str]:
    mode = "export" if export is not None else "api" if batch else None
    return _flags(batch__mode=mode, batch__export_dir=export, batch__import_dir=import_)


def _config(config: Path | None, overrides: list[str] | None, extra: list[str] | None = None,
            preset: str | None = None) -> RunConfig:
    return load_config(config, [*(extra or []), *(overrides or [])], preset)


def _flags(**fields: object) -> list[str]:
    """`--set` overrides for the typed flags given (dotted paths spelled with __)."""
    return [f"{name.replace('__', '.')}={value}" for name, value in fields.items() if value is not None]


def _run_config(config: Path | None, overrides: list[str] | None, flags: list[str], resume: bool,
                out_dir: Path | None, preset: str | None = None) -> RunConfig | None:
    """The config of a run. Resuming without --config keeps the run's own snapshot, changed only by the flags
    and --set given now (e.g. a larger --budget or another model); None lets the store decide (no snapshot)."""
    if resume and out_dir is None:
        raise ConfigError("--resume needs --out DIR: the run directory to continue")
    if resume and preset:
        raise ConfigError("--preset starts a run; --resume continues with the run's own config (change single "
                          "fields with --set)")
    if resume and config is None:
        snapshot = out_dir / "config.yaml"  # type: ignore[operator]
        return load_config(snapshot, [*flags, *(overrides or [])]) if snapshot.exists() else None
    return _config(config, overrides, flags, preset)


@app.command()
def models(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """List the embedded local models (installed or not) and the configured endpoints."""
    cfg = _config(config, set_)
    for table in models_tables(cfg):
        out.print(table)


@app.command()
def smoke(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    questions: Annotated[int, typer.Option(min=1, max=8, help="how many questions")] = 4,
    explorers: Annotated[str | None, typer.Option(help="comma-separated respondent models")] = None,
    judge: Annotated[str | None, typer.Option(help="judge model")] = None,
) -> None:
    """A small resumable run of the model layer: explorers answer, the judge labels stances (JSON)."""
    from .smoke import run_smoke

    flags = _flags(roles__explorers=explorers, roles__judge=judge)
    cfg = _run_config(config, set_, flags, resume, out_dir)
    run_dir = out_dir or default_run_dir("smoke")
    result = run_smoke(cfg, run_dir, resume=resume, question_count=questions)
    out.print(smoke_table(result.records, run_dir))
    _print_usage(run_dir)
    _exit_on_failures(result.failures, run_dir)


@app.command()
def evaluate(
    benchmark: Annotated[Path, typer.Option("--benchmark", "-b", help="questions: .json (array), .jsonl, .csv "
                                            "(question column) or .parquet")],
    models_: Annotated[str | None, typer.Option("--models", "-m", help="comma-separated target models")] = None,
    judge: Annotated[str | None, typer.Option(help="judge model")] = None,
    theory: Annotated[str | None, typer.Option(help="schwartz10, mft, or a theory file")] = None,
    protocol: Annotated[str | None, typer.Option(help="per-value (default) or joint")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    dedupe: DedupeOpt = False,
    dry_run: DryRunOpt = False,
    batch: BatchOpt = False,
    batch_export: BatchExportOpt = None,
    batch_import: BatchImportOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Value profiles of the target models on a benchmark: answers, judge labels, TrueSkill scores, charts."""
    from .evaluation import evaluate as run_evaluate

    flags = _flags(roles__targets=models_, roles__judge=judge, evaluation__theory=theory,
                   evaluation__protocol=protocol) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir, preset)
    if dry_run:
        from .benchmark import load_questions
        from .estimate import estimate_evaluate

        count = len(load_questions(benchmark, dedupe=dedupe))
        _print_estimate(estimate_evaluate(cfg or load_config(None), count), cfg or load_config(None),
                        f"adaem evaluate of {count} questions", "evaluate")
        return
    run_dir = out_dir or default_run_dir("evaluate")
    result = run_evaluate(benchmark, cfg, run_dir, resume=resume, dedupe=dedupe)
    out.print(scores_table(result, run_dir))
    answers = result.answers
    parse_failed = int(answers["vector"].isna().sum()) if "vector" in answers else 0
    out.print(f"{len(answers)} answers ({parse_failed} parse failures) · files: {run_dir}/scores.csv, scores.json, "
              f"radar.png, heatmap.png, outputs/answers.jsonl")
    _print_usage(run_dir)
    _exit_on_failures(result.failures, run_dir, result.stopped, result.left)


@app.command()
def generate(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    budget: Annotated[int | None, typer.Option(min=1, help="pulls of the bandit (generation.budget)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue (or extend) the run in --out")] = False,
    seeds: Annotated[Path | None, typer.Option(help="seed file (JSONL/CSV/parquet with a question column)")] = None,
    preset: PresetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Search for questions on which the models express different values; write a benchmark."""
    from .generation.job import generate as run_generate

    cfg = _run_config(config, set_, _flags(generation__budget=budget, generation__seeds=seeds), resume, out_dir,
                      preset)
    if dry_run:
        _estimate_generate(cfg or load_config(None))
        return
    run_dir = out_dir or default_run_dir("generate")
    result = run_generate(cfg, run_dir, resume=resume)
    out.print(generated_table(result.questions, run_dir))
    summary = result.summary
    mean = summary["mean_p2_score"]
    out.print(f"{summary['questions']} questions from {summary['pulls']} pulls ({summary['stopped']}); "
              f"mean P2 score {mean if mean is None else round(mean, 3)}; rejected: {summary['rejected'] or 'none'}")
    out.print(f"files: {run_dir}/benchmark.jsonl, benchmark.parquet, summary.json · next: adaem evaluate "
              f"--benchmark {run_dir}/benchmark.jsonl")
    _print_usage(run_dir)
    if result.failure:
        err.print(Text("failed: ", style="bold red") + Text(result.failure), soft_wrap=True)
        err.print(f"the run stopped after pull {summary['pulls']}; continue with --resume --out {run_dir}")
        raise typer.Exit(1)


@app.command()
def select(
    run: Annotated[Path, typer.Argument(help="a finished `adaem generate` run directory")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="where to write the benchmark (.jsonl or .parquet)")],
    top: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="keep this fraction, best P2 scores first")] = None,
    min_score: Annotated[float | None, typer.Option(help="keep questions whose P2 score is at least this")] = None,
    per: Annotated[str, typer.Option(help="rank over the whole run, or within each arm: run or arm")] = "run",
) -> None:
    """Re-select a generate run's benchmark from its accepted questions by another rule (no model call)."""
    from .config import Selection, first_error
    from .generation.job import select_benchmark

    if (top is None) == (min_score is None):
        raise ConfigError("select: give one rule, --top FRACTION or --min-score X")
    if per not in ("run", "arm"):
        raise ConfigError(f"--per: run or arm, not '{per}'")
    try:
        rule = Selection(top=top, min_score=min_score, per=per)
    except ValueError as exc:
        raise ConfigError(f"select: {first_error(exc)}") from None
    rows, accepted = select_benchmark(run, rule, out_file)
    out.print(f"{len(rows)} of {accepted} accepted questions ({rule.describe()}) → {out_file}", highlight=False)


def _estimate_generate(cfg: RunConfig) -> None:
    from .estimate import estimate_generate
    from .generation.seeds import load_seeds

    seeds = len(load_seeds(cfg.generation.seeds))
    g = cfg.generation
    _print_estimate(estimate_generate(cfg, seeds), cfg, f"adaem generate: {min(g.arms or seeds, seeds)} seed arms, "
                    f"{g.budget} pulls × {g.width} × {len(cfg.roles.generators)} generator(s), depth ≤ {g.depth}")


def _print_estimate(rows, cfg: RunConfig, title: str, job: str = "generate") -> None:
    from .estimate import assumptions, queue_fills

    out.print(estimate_table(rows, title))
    for note in assumptions(cfg, job):
        out.print(f"assumes: {note}", highlight=False)
    for model, (limit, fills) in queue_fills(cfg, rows).items():
        out.print(f"batch queue: {model} may hold {limit:,} input tokens enqueued (batch.max_enqueued_tokens / "
                  f"tier {cfg.batch.tier}): its batches fill it {fills:,} times, one turnaround after another "
                  f"(each up to 24 h)", highlight=False)


@app.command()
def estimate(
    job: Annotated[str, typer.Argument(help="generate or evaluate")],
    benchmark: Annotated[Path | None, typer.Option("--benchmark", "-b", help="evaluate: the questions")] = None,
    models_: Annotated[str | None, typer.Option("--models", "-m", help="evaluate: comma-separated targets")] = None,
    judge: Annotated[str | None, typer.Option(help="judge model")] = None,
    budget: Annotated[int | None, typer.Option(min=1, help="generate: pulls")] = None,
    questions: Annotated[int | None, typer.Option(min=1, help="evaluate: a number of questions instead of a "
                                                  "benchmark file (e.g. 12310, the paper's AdAEM Bench)")] = None,
    batch: BatchOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Expected calls, tokens and USD (from `prices:`) per model and role of a run, before paying for it."""
    set_ = [*(set_ or []), *_batch_flags(batch, None, None)]
    if job == "generate":
        _estimate_generate(_config(config, set_, _flags(generation__budget=budget, roles__judge=judge), preset))
    elif job == "evaluate":
        from .benchmark import load_questions
        from .estimate import estimate_evaluate

        if benchmark is None and questions is None:
            raise ConfigError("estimate evaluate needs --benchmark FILE or --questions N")
        cfg = _config(config, set_, _flags(roles__targets=models_, roles__judge=judge), preset)
        count = questions or len(load_questions(benchmark, dedupe=True))  # type: ignore[arg-type]
        _print_estimate(estimate_evaluate(cfg, count), cfg, f"adaem evaluate of {count} questions", "evaluate")
    else:
        raise ConfigError(f"estimate: the job is generate or evaluate, not '{job}'")


FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]


def _emit(frame, fmt: str, title: str, floats: str = "{:.3f}") -> None:
    """A DataFrame as a rich table, CSV or JSON on stdout."""
    if fmt == "csv":
        print(frame.to_csv(index=False), end="")
        return
    if fmt == "json":
        print(frame.to_json(orient="records", indent=1))
        return
    if fmt != "table":
        raise ConfigError(f"--format: use table, csv or json, not '{fmt}'")
    out.print(frame_table(frame, title, floats))


@app.command()
def stats(
    files: Annotated[list[Path], typer.Argument(help="question files: .jsonl, .csv (question column) or .parquet")],
    fmt: FormatOpt = "table",
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="also write stats.csv/.json/.png here")] = None,
    similarity: Annotated[bool, typer.Option(help="embed the questions for mean pairwise similarity")] = True,
    dedupe: DedupeOpt = False,
) -> None:
    """Diversity statistics of question sets: size, length, Self-BLEU, Distinct-2, semantic similarity."""
    from .analysis.stats import BLEU_SETTINGS, benchmark_stats

    if fmt not in ("table", "csv", "json"):
        raise ConfigError(f"--format: use table, csv or json, not '{fmt}'")
    table = benchmark_stats(files, out_dir, similarity=similarity, dedupe=dedupe)
    _emit(table, fmt, "Question-set statistics (Self-BLEU 0–100 and similarity: lower = more diverse)", "{:.4g}")
    if fmt == "table":
        out.print(f"Self-BLEU: exact leave-one-out, {BLEU_SETTINGS}; Distinct-2 over 13a tokens, lowercased; "
                  "similarity: mean cosine of all-MiniLM-L6-v2 embeddings over all pairs", highlight=False)
        if out_dir:
            out.print(f"files: {out_dir}/stats.csv, stats.json, stats.png")


@app.command()
def compare(
    files: Annotated[list[Path], typer.Argument(help="two or more question files; the first is the reference")],
    models_: Annotated[str | None, typer.Option("--models", "-m", help="comma-separated pool (roles.explorers)")] = None,
    judge: Annotated[str | None, typer.Option(help="judge model")] = None,
    limit: Annotated[int | None, typer.Option(min=2, help="score at most N questions per set (seeded sample)")] = None,
    draws: Annotated[int, typer.Option(min=1, help="independent sets of answers per question; S is their mean, and "
                                       "2 or more also measure S's test–retest reliability")] = 1,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    dedupe: DedupeOpt = False,
    batch: BatchOpt = False,
    batch_export: BatchExportOpt = None,
    batch_import: BatchImportOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Informativeness S of question sets under one pool and judge: means, CIs, Welch and Mann–Whitney tests."""
    from .analysis.compare import compare_sets

    flags = _flags(roles__explorers=models_, roles__judge=judge) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir, preset)
    run_dir = out_dir or default_run_dir("compare")
    result = compare_sets(list(files), cfg, run_dir, limit=limit, resume=resume, draws=draws, dedupe=dedupe)
    out.print(compare_table(result, run_dir))
    if result.retest:
        r = result.retest
        out.print(f"test–retest over {r['questions']} questions × {r['draws']} draws: ICC1 {r['icc1']:.2f} "
                  f"[{r['icc1_lo']:.2f}, {r['icc1_hi']:.2f}] over {r.get('ci_unit', 'questions')} (share of one "
                  f"draw's S that is the question's), "
                  f"ICC1k {r['icc1k']:.2f} (reliability of the mean over the draws)")
    out.print(f"files: {run_dir}/compare_summary.csv, compare_scores.csv, compare_draws.csv, compare.png")
    _print_usage(run_dir)
    _exit_on_failures(result.failures, run_dir, result.stopped, result.left)


@app.command()
def reliability(
    run: Annotated[Path, typer.Argument(help="an `adaem evaluate` run directory")],
    folds: Annotated[int, typer.Option(help="k of the k-fold split of the questions")] = 5,
    against: Annotated[Path | None, typer.Option(help="another evaluate run of the same models (ICC, r, ρ)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="where to write tables and PNGs")] = None,
    seed: Annotated[int, typer.Option(help="seed of the fold split")] = 0,
) -> None:
    """Reliability of a run's value scores: Cronbach's α over k folds, CV, agreement with another run."""
    from .analysis.reliability import reliability as run_reliability

    result = run_reliability(run, folds, against=against, out=out_dir or run / "analysis", seed=seed)
    s = result.summary
    out.print(f"{s['questions']} questions, {len(s['models'])} models, {folds} folds of {s['folds_hold']}: Cronbach's "
              f"α = {s['cronbach_alpha']:.4f} [{s['alpha_ci'][0]:.3f}, {s['alpha_ci'][1]:.3f}] (interval over "
              f"{s['ci_unit']}), mean CV = {s['mean_cv']:.4f}")
    if "against" in s:
        a = s["against"]

        def ci(k: str) -> str:
            lo, hi = a[f"{k}_ci"]
            return f"{a[k]:.3f} [{lo:.3f}, {hi:.3f}]"

        out.print(f"against {a['run']} ({a['pairs']} model·value scores; intervals over {a['ci_unit']}): ICC(2,1) = "
                  f"{ci('icc2')}, ICC(3,1) = {ci('icc3')}, Pearson r = {ci('pearson_r')}, Spearman ρ = "
                  f"{ci('spearman_rho')}")
    where = out_dir or run / "analysis"
    out.print(f"files: {where}/reliability.json, reliability_folds.csv, reliability_folds.png"
              + (", reliability_agreement.png" if "against" in s else ""))


@app.command()
def distinguish(
    runs: Annotated[list[Path], typer.Argument(help="evaluate runs of the same models, one per benchmark")],
    names: Annotated[str | None, typer.Option(help="comma-separated benchmark names (default: the run directories')")]
    = None,
    measure: Annotated[str, typer.Option(help="rate (expression rates, 0–1; default) or score (TrueSkill / 100)")]
    = "rate",
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="where to write tables and the radar grid")]
    = None,
) -> None:
    """Which benchmark tells the models apart (Fig. 8a, Table 15): per benchmark, the mean pairwise correlation of
    the models' value profiles (lower = more distinguishable) and the mean within-model SD across values (higher)."""
    from .analysis.distinguishability import distinguishability

    if measure not in ("rate", "score"):
        raise ConfigError(f"--measure: rate or score, not '{measure}'")
    where = out_dir or runs[0] / "distinguishability"
    result = distinguishability(list(runs), names=_items(names), measure=measure, out=where)  # type: ignore[arg-type]
    _emit(result.table, "table", f"Which benchmark tells {len(result.models)} models apart (95% intervals over "
          "topics: jackknife-t; lower correlation and higher SD = more distinguishable)")
    if len(result.tests):
        _emit(result.tests, "table", "Between benchmarks: difference a − b, its 95% interval and t-test p")
    out.print(f"files: {where}/distinguishability.csv, distinguishability_tests.csv, distinguishability.json, "
              "distinguishability.png · `adaem report` with the runs shows the radar grid", highlight=False)


@app.command()
def subsets(
    run: Annotated[Path, typer.Argument(help="an `adaem evaluate` run directory")],
    sizes: Annotated[str | None, typer.Option(help="comma-separated subset sizes (default: the paper's 200, 500, "
                                              "1000 below the run's size, else a quarter and a half)")] = None,
    draws: Annotated[int, typer.Option(min=2, help="random subsets per size")] = 20,
    resamples: Annotated[int, typer.Option(min=0, help="topic resamples of the benchmark for the intervals")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the subsets and resamples")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="where to write (default RUN/subsets)")] = None,
) -> None:
    """How many questions are enough (Appendix K.2, Fig. 21): ICC, Pearson, Spearman and Cronbach's α between random
    subsets' profiles and the whole benchmark's."""
    from .analysis.subsets import subsets as run_subsets

    try:
        chosen = [int(s) for s in _items(sizes) or []] or None
    except ValueError:
        raise ConfigError(f"--sizes: comma-separated whole numbers, got '{sizes}'") from None
    where = out_dir or run / "subsets"
    result = run_subsets(run, chosen, draws=draws, resamples=resamples, seed=seed, out=where)
    _emit(result.table, "table", f"Subsets of {result.settings['questions']} questions against the whole "
          f"({draws} subsets per size; draws_lo–hi: spread over subsets; lo–hi: 95% interval over "
          f"{result.settings['unit']})")
    out.print(f"files: {where}/subsets.csv, subsets.json, subsets.png · `adaem report {run}` shows them",
              highlight=False)


@app.command()
def prime(
    benchmark: Annotated[Path, typer.Option("--benchmark", "-b", help="questions to answer")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="the model to prime (default: first target)")] = None,
    dimensions: Annotated[str | None, typer.Option(help="comma-separated values to prime (default: all)")] = None,
    limit: Annotated[int, typer.Option(min=2, help="questions used (seeded sample)")] = 10,
    judge: Annotated[str | None, typer.Option(help="judge model")] = None,
    theory: Annotated[str | None, typer.Option(help="schwartz10, mft, or a theory file with groups")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
    dedupe: DedupeOpt = False,
    batch: BatchOpt = False,
    batch_export: BatchExportOpt = None,
    batch_import: BatchImportOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Value priming: does priming a value raise it, raise its group less, and lower the opposite group?"""
    from .analysis.priming import priming

    flags = _flags(roles__judge=judge, evaluation__theory=theory) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir, preset)
    run_dir = out_dir or default_run_dir("prime")
    dims = _items(dimensions)
    result = priming(benchmark, cfg, run_dir, model=model, dimensions=dims, limit=limit, resume=resume,
                     dedupe=dedupe)
    table = result.effects[["primed", "relation", "n", "base_mean", "primed_mean", "change", "change_pct", "t", "p",
                            "cohen_d"]]
    _emit(table, "table", f"Value priming of {result.effects.model.iloc[0]} (P(expressed), paired over questions)"
                          f" — {run_dir}")
    out.print(f"files: {run_dir}/priming.csv, priming.json, priming.png, outputs/answers.jsonl")
    _print_usage(run_dir)
    _exit_on_failures(result.failures, run_dir, result.stopped, result.left)


@app.command()
def findings(
    run: Annotated[Path, typer.Argument(help="an evaluate run (models' findings) or a generate run "
                                        "(informativeness per pull)")],
    against: Annotated[list[Path] | None, typer.Option("--against", help="generate runs: `adaem compare` runs "
                                                       "whose question sets are the baselines (repeatable)")] = None,
    pair: Annotated[str | None, typer.Option(help="two models (a,b) for the divergence by region; default: two "
                                             "made in different regions (model_info), else the first two")] = None,
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="significance level of every claim")] = 0.05,
    seed: Annotated[int, typer.Option(help="seed of bootstraps and permutations")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="where to write (default RUN/findings)")] = None,
) -> None:
    """The paper's findings about a run, with tests: family similarity, group differences (reasoning vs chat, any
    fact in `model_info`), newer models and safety-related values, amplification with size, size trends,
    topic-category shifts, regional divergence; a claim is printed only when its test passes after one
    Benjamini-Hochberg correction over every test of the report."""
    from .analysis.findings_run import run_findings

    models = _items(pair)
    if models is not None and len(models) != 2:
        raise ConfigError("--pair takes two models: a,b")
    result = run_findings(run, against=against, out=out_dir, alpha=alpha, seed=seed,
                          pair=(models[0], models[1]) if models else None)
    for finding in result.findings:
        out.print(Text(finding.title, style="bold"))
        if finding.claim:
            out.print(Text("  shown: ", style="green") + Text(finding.claim), soft_wrap=True)
        else:
            out.print(Text("  not shown: ", style="yellow") + Text(str(finding.not_shown)), soft_wrap=True)
        if finding.unit:
            out.print(Text(f"  unit: {finding.unit}", style="dim"), soft_wrap=True)
    files = sorted({name for x in result.findings for name in x.files})
    out.print(f"files in {result.out}: findings.json, {', '.join(files)} · `adaem report {run}` shows them")


@app.command("judge-check")
def judge_check(
    judge: Annotated[list[str] | None, typer.Option(help="the judge to check (roles.judge); repeat it, or give a "
                                                     "comma-separated list, to compare judges")] = None,
    theory: Annotated[str | None, typer.Option(help="theory, or comma-separated theory files with the same values "
                                               "(definitions / few-shot variants) to compare")] = None,
    labels: Annotated[Path | None, typer.Option(help="labelled texts: JSONL/CSV with `text` and `values` "
                                                "(default: the set shipped for the theory)")] = None,
    protocol: Annotated[str | None, typer.Option(help="per-value, joint, or both comma-separated")] = None,
    prompt: Annotated[str | None, typer.Option(help="per-value judge prompt: one-definition, all-definitions, "
                                               "listing-4 (the paper's, as printed), or several comma-separated")] = None,
    calibration: Annotated[Path | None, typer.Option(help="apply this saved calibration (a judge-check's "
                                                     "calibration-*.json) unchanged to --labels: external "
                                                     "validation, nothing learned")] = None,
    seed: Annotated[int, typer.Option(help="seed of the training / held-out split and the bootstrap")] = 0,
    unit: Annotated[str | None, typer.Option(help="the kind of text --labels holds: opinion (one opinion, as the "
                                             "shipped sets) or answer (whole answers); a calibration learned "
                                             "here applies to runs with that evaluation.unit")] = None,
    by_point: Annotated[bool, typer.Option("--by-point", help="also label each whole answer's key points (the "
                                           "labels file's `points`) one by one and OR them, as evaluation.unit "
                                           "opinion does, beside the whole-answer labelling")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
) -> None:
    """How well the judge labels texts with known values: P/R/F1 per value, top-k, calibration, corrections, each
    with an interval; several judges' agreement; a saved calibration tried on other texts."""
    from .analysis.judge_check import judge_check as run_check

    judges = [j for item in judge or [] for j in _items(item) or []] or None
    cfg = _run_config(config, set_, _flags(roles__judge=judges[0] if judges else None), resume, out_dir)
    run_dir = out_dir or default_run_dir("judge-check")
    result = run_check(cfg, run_dir, labels=labels, theories=_items(theory), protocols=_items(protocol),
                       prompts=_items(prompt), judges=judges, calibration=calibration, seed=seed, resume=resume,
                       unit=unit, by_point=by_point or None)
    out.print(judge_check_table(result, run_dir))
    out.print(f"wall time {result.seconds / 60:.1f} min over every session of the run")
    if result.agreement is not None:
        out.print(agreement_table(result.agreement))
    # an ensemble's calibration is a measurement: no run has a mean of judges as its judge
    usable = [path for name, path in result.calibrations.items() if not name.startswith("mean:")]
    saved = f"; calibration for evaluation.calibration: {', '.join(usable)}" if usable else ""
    out.print(f"files: {run_dir}/judge_check.html, judge_check.csv, judge_check_values.csv, judge_check.json, "
              f"judge_check.png{saved}")
    _print_usage(run_dir)
    _exit_on_failures(result.failures, run_dir, result.stopped, result.left)


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="run directories (evaluate, generate, compare, prime)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write")] = Path("report.html"),
    similarity: Annotated[bool, typer.Option(help="embed the questions for the similarity statistic")] = True,
) -> None:
    """One self-contained HTML report (offline, no CDN) of one or more runs."""
    from .report import write_report

    path, collected = write_report(list(runs), output, similarity=similarity)
    for run in collected:
        line = f"{run.name}: {run.kind}, {len(run.questions)} questions, {len(run.models)} models, {run.status}"
        out.print(line, highlight=False, markup=False)
        for note in run.notes:
            out.print(f"  note: {note}", highlight=False, markup=False)
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)


@app.command()
def view(
    root: Annotated[Path, typer.Argument(help="a directory of runs")] = Path("runs"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 8765,
) -> None:
    """Serve the reports of a directory of runs on http://127.0.0.1:PORT (localhost only) until Ctrl-C."""
    from .report.viewer import HOST, make_server

    try:
        server = make_server(root, port)
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen on {HOST}:{port} ({exc.strerror})") from None
    out.print(f"serving the runs in {root} at http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops)",
              highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


app.add_typer(annotate_app, name="annotate")
seeds_app = typer.Typer(help="Seed topics: list the shipped set, or grow a set with an LLM.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")


@seeds_app.command("expand")
def seeds_expand(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="where to write the grown seed set (.jsonl)")],
    seeds: Annotated[Path | None, typer.Option(help="seed file to grow; default: the shipped seeds")] = None,
    per_category: Annotated[int, typer.Option(min=1, help="new topics wanted per category")] = 5,
    generator: Annotated[str | None, typer.Option(help="model that proposes topics")] = None,
    threshold: Annotated[float, typer.Option(min=0.1, max=1.0, help="near-duplicate cosine threshold")] = 0.85,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Grow a seed set with an LLM, dropping near-duplicates and non-yes/no questions."""
    from .generation.seeds import expand_seed_file

    cfg = _config(config, set_, _flags(roles__generators=generator))
    base, new, dropped = expand_seed_file(cfg, seeds, out_file, per_category, threshold)
    out.print(f"{len(base)} seeds + {len(new)} new = {len(base) + len(new)} in {out_file}; dropped: {dropped}")
    for s in new[:20]:
        out.print(f"  [{s.category}] {s.question}", markup=False, highlight=False)


def _items(text: str | None) -> list[str] | None:
    """A comma-separated option as a list; None when not given."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _exit_on_failures(failures: list[dict], run_dir: Path, stopped: str | None = None, left: int = 0) -> None:
    """Units left by a cost cap: say how to continue. Units whose model calls failed for good: show the distinct
    errors, say how to retry, exit 1."""
    if stopped:
        err.print(f"stopped with {left} unit(s) left: {stopped} (continue with --resume --out {run_dir}); "
                  "the results above are from the units done so far", highlight=False, soft_wrap=True)
    if not failures:
        return
    for message in list(dict.fromkeys(f["error"] for f in failures))[:3]:
        err.print(Text("failed: ", style="bold red") + Text(message), soft_wrap=True)
    err.print(f"{len(failures)} unit(s) failed (see {run_dir}/outputs/failures.jsonl); "
              f"rerun with --resume --out {run_dir} to retry them")
    raise typer.Exit(1)


def _print_usage(run_dir: Path) -> None:
    for table in usage_tables(run_dir):
        out.print(table)


@app.command("config")
def show_config(config: ConfigOpt = None, set_: SetOpt = None, preset: PresetOpt = None) -> None:
    """Validate a config and print it whole, defaults filled in, the paper's value beside each that differs."""
    from .config import annotated_config, preset_data, preset_text

    cfg = _config(config, set_, preset=preset)
    if preset:  # the preset's own comments (the paper's model pool as a roles example), then each setting's source
        comments = [line for line in preset_text(preset).splitlines() if line.startswith("#")]
        out.print("\n".join(comments), markup=False, highlight=False)
        out.print(preset_table(preset))
    else:
        out.print("# defaults sized for the embedded models on 2 cores; `# paper: X` marks the paper's value "
                  "(adaem config --preset paper)", markup=False, highlight=False)
    out.print(annotated_config(cfg, preset_data("paper")), end="", markup=False, highlight=False)


def main() -> None:
    try:
        app()
    except AdaemError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except KeyboardInterrupt:
        err.print("interrupted: continue with the same command plus --resume --out RUN_DIR")
        sys.exit(130)
