"""The `adaem` command: parses flags, builds the config, calls the Python API, prints.

Every AdaemError ends the command with one line on stderr naming the problem, and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .config import PRESET_ENDPOINTS, RunConfig, load_config
from .errors import AdaemError, ConfigError
from .models import embedded
from .store import default_run_dir, read_usage

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="AdAEM: generate value-eliciting questions and measure how LLMs' values differ.")
# Piped output (logs, CI) gets a wide fixed width instead of rich's 80 columns, so tables stay readable.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override a config field: roles.judge=openai/gpt-4o")]


PresetOpt = Annotated[str | None, typer.Option("--preset", help="start from a preset: paper (Table 6 of the paper)")]
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
    table = Table(title="Embedded models (local/<name>, run in-process by llama.cpp)")
    for col in ("name", "installed", "size", "family", "vendor", "weights", "packages"):
        table.add_column(col)
    for m in embedded.CATALOGUE.values():
        present = embedded.is_installed(m)
        table.add_row(f"local/{m.name}", "yes" if present else "[red]no[/red]", f"{m.size_bytes / 1e9:.2f} GB",
                      m.family, m.vendor, m.title, m.packages[0] + (f" (+{len(m.parts) - 1} parts)" if len(m.parts) > 1 else ""))
    out.print(table)
    ep_table = Table(title="API endpoints (<endpoint>/<model>; anthropic is the native Messages API, the rest "
                           "OpenAI-compatible)")
    for col in ("endpoint", "base URL", "key variable", "key set", "structured output", "log-probs", "batch API"):
        ep_table.add_column(col)
    for name in sorted(set(PRESET_ENDPOINTS) | set(cfg.endpoints)):
        ep = cfg.endpoint(name)
        env = ep.key_env(name)
        urls = ep.resolved_base_urls(name)
        where = "official API" if not urls else urls[0] + (f" (+{len(urls) - 1} replicas)" if len(urls) > 1 else "")
        ep_table.add_row(name, where, env, "yes" if os.environ.get(env) else "no", ep.structured_output,
                         "yes" if ep.logprobs else "no", f"yes ({ep.batch_discount:.0%} price)" if ep.batch else "no")
    out.print(ep_table)
    roles = Table(title="Models in this config and what they can do")
    for col in ("model", "roles", "log-probs (judge labels from)", "opinions asked as", "batch", "replicas",
                "concurrency"):
        roles.add_column(col)
    from .models import ModelPool

    pool = ModelPool(cfg)
    for name, rs in cfg.roles.all_models().items():
        try:
            model = pool.get(name)
        except ConfigError:  # no key yet: what the endpoint declares, and what to set
            ep = cfg.endpoint(name.partition("/")[0])
            urls = ep.resolved_base_urls(name.partition("/")[0]) or [""]
            roles.add_row(name, ", ".join(rs), "log-probs" if ep.logprobs else "answer text", "free text",
                          "api" if ep.batch else "files (--batch-export)", str(len(urls)),
                          f"[red]no key: export {ep.key_env(name.partition('/')[0])}[/red]")
            continue
        p = model.provider
        batch = "api" if p.batch else "files (--batch-export)" if p.batch_files else "no"
        roles.add_row(name, ", ".join(rs), "log-probs" if p.logprobs else "answer text",
                      "JSON schema" if p.schema_opinions else "free text", batch, str(p.replicas),
                      f"{model.concurrency}" + (" (CPU shared)" if p.shares_cpu else ""))
    out.print(roles)


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
    table = Table(title=f"Smoke run {run_dir}")
    for col in ("model", "question", "stance", "answer"):
        table.add_column(col, overflow="fold")
    for r in sorted(result.records, key=lambda r: (r["model"], r["question_id"])):
        table.add_row(r["model"], r["question"], str(r.get("stance")), r["answer"][:100])
    out.print(table)
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
) -> None:
    """Value profiles of the target models on a benchmark: answers, judge labels, TrueSkill scores, charts."""
    from .evaluation import evaluate as run_evaluate

    flags = _flags(roles__targets=models_, roles__judge=judge, evaluation__theory=theory,
                   evaluation__protocol=protocol) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir)
    if dry_run:
        from .benchmark import load_questions
        from .estimate import estimate_evaluate

        count = len(load_questions(benchmark, dedupe=dedupe))
        _print_estimate(estimate_evaluate(cfg or load_config(None), count), cfg or load_config(None),
                        f"adaem evaluate of {count} questions", "evaluate")
        return
    run_dir = out_dir or default_run_dir("evaluate")
    result = run_evaluate(benchmark, cfg, run_dir, resume=resume, dedupe=dedupe)
    profile = result.scores
    ev = result.config.evaluation
    table = Table(title=f"Value scores ({result.theory.name}, {ev.rating} 0–100, {ev.confidence:.0%} CI over "
                        f"questions, expression rate) — {run_dir}")
    table.add_column("value")
    for model in result.models:
        table.add_column(model, justify="right")
    for dim in result.theory.ids:
        cells = []
        for model in result.models:
            row = profile[(profile.model == model) & (profile.dimension == dim)].iloc[0]
            cells.append(f"{row.score:.0f} [{row.score_lo:.0f}–{row.score_hi:.0f}]  rate {row.rate:.0f}%")
        table.add_row(result.theory.dimension(dim).name, *cells)
    out.print(table)
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
    table = Table(title=f"Generated questions — {run_dir}")
    for col in ("id", "P2 score", "category", "country", "question"):
        table.add_column(col, overflow="fold")
    for q in sorted(result.questions, key=lambda q: -q["p2_score"]):
        table.add_row(q["id"], f"{q['p2_score']:.2f}", q["category"], q["country"] or "", q["question"])
    out.print(table)
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


def _estimate_generate(cfg: RunConfig) -> None:
    from .estimate import estimate_generate
    from .generation.seeds import load_seeds

    seeds = len(load_seeds(cfg.generation.seeds))
    g = cfg.generation
    _print_estimate(estimate_generate(cfg, seeds), cfg, f"adaem generate: {min(g.arms or seeds, seeds)} seed arms, "
                    f"{g.budget} pulls × {g.width} × {len(cfg.roles.generators)} generator(s), depth ≤ {g.depth}")


def _print_estimate(rows, cfg: RunConfig, title: str, job: str = "generate") -> None:
    from .estimate import assumptions, totals

    table = Table(title=f"Expected model calls — {title}")
    for col in ("model", "role", "calls", "tokens in", "tokens out", "cost $"):
        table.add_column(col, justify="left" if col in ("model", "role") else "right")
    for r in [*rows, totals(rows)]:
        table.add_row(r.model, r.role, f"{r.calls:,.0f}", f"{r.input_tokens:,.0f}", f"{r.output_tokens:,.0f}",
                      f"{r.cost:,.2f}")
    out.print(table)
    for note in assumptions(cfg, job):
        out.print(f"assumes: {note}", highlight=False)


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
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(floats.format(v) if isinstance(v, float) else str(v) for v in row))
    out.print(table)


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
) -> None:
    """Informativeness S of question sets under one pool and judge: means, CIs, Welch and Mann–Whitney tests."""
    from .analysis.compare import compare_sets

    flags = _flags(roles__explorers=models_, roles__judge=judge) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir)
    run_dir = out_dir or default_run_dir("compare")
    result = compare_sets(list(files), cfg, run_dir, limit=limit, resume=resume, draws=draws, dedupe=dedupe)
    table = Table(title=f"Informativeness S per question set (pool: {', '.join(result.models)}) — {run_dir}")
    first = result.summary.set.iloc[0]
    for col in ("set", "questions", "scored", "mean S [95% CI]", "std", f"Δ vs {first}", "Welch p", "Mann–Whitney p"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for row in result.summary.to_dict("records"):
        cells = [row["set"], str(row["questions"]), str(row["scored"]),
                 f"{row['mean']:.3f} [{row['ci_lo']:.3f}, {row['ci_hi']:.3f}]", f"{row['std']:.3f}"]
        cells += [f"{row.get(f'vs_{first}_{k}', float('nan')):.3g}" if row["set"] != first else "–"
                  for k in ("difference", "welch_p", "mannwhitney_p")]
        table.add_row(*cells)
    out.print(table)
    if result.retest:
        r = result.retest
        out.print(f"test–retest over {r['questions']} questions × {r['draws']} draws: ICC1 {r['icc1']:.2f} "
                  f"[{r['icc1_lo']:.2f}, {r['icc1_hi']:.2f}] (share of one draw's S that is the question's), "
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
    out.print(f"{s['questions']} questions, {len(s['models'])} models, {folds} folds: Cronbach's α = "
              f"{s['cronbach_alpha']:.4f} [{s['alpha_ci'][0]:.3f}, {s['alpha_ci'][1]:.3f}], mean CV = {s['mean_cv']:.4f}")
    if "against" in s:
        a = s["against"]
        out.print(f"against {a['run']} ({a['pairs']} model·value scores): ICC(2,1) = {a['icc2']:.3f}, ICC(3,1) = "
                  f"{a['icc3']:.3f}, Pearson r = {a['pearson_r']:.3f} (p={a['pearson_p']:.3g}), Spearman ρ = "
                  f"{a['spearman_rho']:.3f} (p={a['spearman_p']:.3g})")
    where = out_dir or run / "analysis"
    out.print(f"files: {where}/reliability.json, reliability_folds.csv, reliability_folds.png"
              + (", reliability_agreement.png" if "against" in s else ""))


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
) -> None:
    """Value priming: does priming a value raise it, raise its group less, and lower the opposite group?"""
    from .analysis.priming import priming

    flags = _flags(roles__judge=judge, evaluation__theory=theory) + _batch_flags(batch, batch_export, batch_import)
    cfg = _run_config(config, set_, flags, resume, out_dir)
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
    judge: Annotated[str | None, typer.Option(help="the judge to check (roles.judge)")] = None,
    theory: Annotated[str | None, typer.Option(help="theory, or comma-separated theory files with the same values "
                                               "(definitions / few-shot variants) to compare")] = None,
    labels: Annotated[Path | None, typer.Option(help="labelled texts: JSONL/CSV with `text` and `values` "
                                                "(default: the set shipped for the theory)")] = None,
    protocol: Annotated[str | None, typer.Option(help="per-value, joint, or both comma-separated")] = None,
    seed: Annotated[int, typer.Option(help="seed of the training / held-out split")] = 0,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="run directory")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out")] = False,
) -> None:
    """How well the judge labels texts with known values: P/R/F1 per value, top-k, calibration, and corrections."""
    from .analysis.judge_check import judge_check as run_check

    cfg = _run_config(config, set_, _flags(roles__judge=judge), resume, out_dir)
    run_dir = out_dir or default_run_dir("judge-check")
    result = run_check(cfg, run_dir, labels=labels, theories=_items(theory), protocols=_items(protocol), seed=seed,
                       resume=resume)
    table = Table(title=f"Judge {result.judge} on the held-out half (macro over values; kept = correction saved) "
                        f"— {run_dir}")
    for col in ("variant", "condition", "P", "R", "F1", "top-1", "top-3", "gold rank", "ECE", "missing", "kept"):
        table.add_column(col, justify="left" if col in ("variant", "condition") else "right")
    for r in result.summary.to_dict("records"):
        table.add_row(r["variant"], r["condition"], *(f"{r[k]:.3f}" for k in ("macro_precision", "macro_recall",
                      "macro_f1", "top1", "top3")), f"{r['mean_rank']:.2f}", f"{r['ece']:.3f}", str(r["missing"]),
                      "✓" if r["kept"] else "")
    out.print(table)
    out.print(f"wall time {result.seconds / 60:.1f} min over every session of the run")
    out.print(f"files: {run_dir}/judge_check.html, judge_check.csv, judge_check_values.csv, judge_check.json, "
              f"judge_check.png; calibration for evaluation.calibration: {', '.join(result.calibrations.values())}")
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
    import asyncio
    import json

    from .generation.seeds import expand_seeds, load_seeds
    from .models import CallCache, ModelPool
    from .progress import progress_bar

    cfg = _config(config, set_, _flags(roles__generators=generator))
    base = load_seeds(seeds)
    model_name = cfg.roles.generators[0]
    pool = ModelPool(cfg, cache=CallCache(out_file.with_suffix(".cache.sqlite")))

    async def run():
        try:
            await pool.preflight([model_name])
            with progress_bar(pool.ledger) as progress:
                task = progress.add_task("seeds: expand", total=None)
                return await expand_seeds(pool.get(model_name), base, per_category, threshold=threshold,
                                          on_step=lambda: progress.advance(task))
        finally:
            await pool.aclose()

    new, dropped = asyncio.run(run())
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as fh:
        for s in [*base, *new]:
            fh.write(json.dumps({"topic": s.topic, "question": s.question, "category": s.category},
                                ensure_ascii=False) + "\n")
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
    from .store import merged_usage, read_replicas

    rows = read_usage(run_dir)
    table = Table(title="Model calls (all sessions of the run)")
    for col in ("model", "role", "calls", "cached", "retries", "failed", "tokens in", "tokens out", "cost $"):
        table.add_column(col, justify="right" if col not in ("model", "role") else "left")
    for m in sorted(merged_usage(rows), key=lambda m: (m["model"], m["role"])):
        calls = f"{m['calls']} ({m['batched']} batched)" if m.get("batched") else str(m["calls"])
        table.add_row(m["model"], m["role"], calls, str(m["cache_hits"]), str(m["retries"]),
                      str(m["errors"]), str(m["input_tokens"]), str(m["output_tokens"]), f"{m['cost']:.4f}")
    out.print(table)
    replicas = read_replicas(run_dir)
    if replicas:
        spread = Table(title="Calls per replica (all sessions; errors were retried, on another replica if one was up)")
        for col in ("model", "replica", "answered", "errors"):
            spread.add_column(col, justify="right" if col in ("answered", "errors") else "left")
        for r in replicas:
            spread.add_row(r["model"], r["url"], str(r["calls"]), str(r["errors"]))
        out.print(spread)


@app.command("config")
def show_config(config: ConfigOpt = None, set_: SetOpt = None, preset: PresetOpt = None) -> None:
    """Validate a config and print it whole, defaults filled in, the paper's value beside each that differs."""
    from .config import annotated_config, preset_data, preset_text

    cfg = _config(config, set_, preset=preset)
    if preset:  # the preset's own comments: what it is, and the paper's model pool as a roles example
        comments = [line for line in preset_text(preset).splitlines() if line.startswith("#")]
        out.print("\n".join(comments), markup=False, highlight=False)
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
