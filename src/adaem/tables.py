"""The rich tables the `adaem` command prints: pure renderers from results to `rich.table.Table`s."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from rich.table import Table

from .config import RunConfig
from .endpoints import PRESET_ENDPOINTS
from .errors import ConfigError
from .models import embedded
from .store import merged_usage, read_replicas, read_usage


def models_tables(cfg: RunConfig) -> list[Table]:
    """The embedded models, the API endpoints, and what each model of the config can do."""
    table = Table(title="Embedded models (local/<name>, run in-process by llama.cpp)")
    for col in ("name", "installed", "size", "family", "vendor", "weights", "packages"):
        table.add_column(col)
    for m in embedded.CATALOGUE.values():
        present = embedded.is_installed(m)
        table.add_row(f"local/{m.name}", "yes" if present else "[red]no[/red]", f"{m.size_bytes / 1e9:.2f} GB",
                      m.family, m.vendor, m.title, m.packages[0] + (f" (+{len(m.parts) - 1} parts)" if len(m.parts) > 1 else ""))
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
    roles = Table(title="Models in this config and what they can do")
    from .models import ModelPool

    pool = ModelPool(cfg)
    rows: list[list[str]] = []
    for name, rs in cfg.roles.all_models().items():
        try:
            model = pool.get(name)
        except ConfigError:  # no key yet: what the endpoint declares, and what to set
            ep = cfg.endpoint(name.partition("/")[0])
            urls = ep.resolved_base_urls(name.partition("/")[0]) or [""]
            rows.append([name, ", ".join(rs), "log-probs" if ep.logprobs else "answer text", "free text",
                         "api" if ep.batch else "files (--batch-export)", str(len(urls)),
                         f"[red]no key: export {ep.key_env(name.partition('/')[0])}[/red]", ""])
            continue
        p = model.provider
        batch = "api" if p.batch else "files (--batch-export)" if p.batch_files else "no"
        rows.append([name, ", ".join(rs), "log-probs" if p.logprobs else "answer text",
                     "JSON schema" if p.schema_opinions else "free text", batch, str(p.replicas),
                     f"{model.concurrency}" + (" (CPU shared)" if p.shares_cpu else ""),
                     "yes" + (f" ({p.variant})" if p.variant else "") if p.reasoning else "no"])
    reasoning = any(r[-1].startswith("yes") for r in rows)  # the column only when a model reasons
    for col in ("model", "roles", "log-probs (judge labels from)", "opinions asked as", "batch", "replicas",
                "concurrency", *(("reasoning",) if reasoning else ())):
        roles.add_column(col)
    for row in rows:
        roles.add_row(*(row if reasoning else row[:-1]))
    return [table, ep_table, roles]


def smoke_table(records: list[dict[str, Any]], run_dir: Path) -> Table:
    table = Table(title=f"Smoke run {run_dir}")
    for col in ("model", "question", "stance", "answer"):
        table.add_column(col, overflow="fold")
    for r in sorted(records, key=lambda r: (r["model"], r["question_id"])):
        table.add_row(r["model"], r["question"], str(r.get("stance")), r["answer"][:100])
    return table


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def scores_table(result: Any, run_dir: Path) -> Table:
    """An evaluation's profile: score [CI] and expression rate per value and model."""
    profile = result.scores
    ev = result.config.evaluation
    unit = str(profile.ci_unit.iloc[0]) if "ci_unit" in profile and len(profile) else "questions"
    note = str(profile.ci_note.iloc[0]) if "ci_note" in profile and len(profile) else ""
    note = "" if note in ("", "nan") else note
    table = Table(title=f"Value scores ({result.theory.name}, {ev.rating} 0–100 [{ev.confidence:.0%} CI], expression "
                        f"rate [{ev.confidence:.0%} CI]; intervals over {unit}) — {run_dir}",
                  caption=f"score: {note}" if note else None)
    table.add_column("value")
    for model in result.models:
        table.add_column(model, justify="right")
    for dim in result.theory.ids:
        cells = []
        for model in result.models:
            row = profile[(profile.model == model) & (profile.dimension == dim)].iloc[0]
            score = (f"{row.score:.0f} [{row.score_lo:.0f}–{row.score_hi:.0f}]" if _finite(row.score_lo)
                     else f"{row.score:.0f} (no CI)")
            rate = (f"{row.rate:.0f}% [{row.rate_lo:.0f}–{row.rate_hi:.0f}]" if _finite(row.rate_lo)
                    else f"{row.rate:.0f}%")
            cells.append(f"{score}  rate {rate}")
        table.add_row(result.theory.dimension(dim).name, *cells)
    return table


def generated_table(questions: list[dict[str, Any]], run_dir: Path) -> Table:
    table = Table(title=f"Generated questions — {run_dir}")
    for col in ("id", "P2 score", "category", "country", "question"):
        table.add_column(col, overflow="fold")
    for q in sorted(questions, key=lambda q: -q["p2_score"]):
        table.add_row(q["id"], f"{q['p2_score']:.2f}", q["category"], q["country"] or "", q["question"])
    return table


def estimate_table(rows: list[Any], title: str) -> Table:
    from .estimate import totals

    table = Table(title=f"Expected model calls — {title}")
    reasoning = any(r.reasoning_tokens for r in rows)
    cols = ("model", "role", "calls", "tokens in", "tokens out") + (("of which reasoning",) if reasoning else ())
    for col in (*cols, "cost $"):
        table.add_column(col, justify="left" if col in ("model", "role") else "right")
    for r in [*rows, totals(rows)]:
        extra = (f"{r.reasoning_tokens:,.0f}",) if reasoning else ()
        table.add_row(r.model, r.role, f"{r.calls:,.0f}", f"{r.input_tokens:,.0f}", f"{r.output_tokens:,.0f}",
                      *extra, f"{r.cost:,.2f}")
    return table


def frame_table(frame: Any, title: str, floats: str = "{:.3f}") -> Table:
    """A DataFrame as a table, floats formatted."""
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(floats.format(v) if isinstance(v, float) else str(v) for v in row))
    return table


def compare_table(result: Any, run_dir: Path) -> Table:
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
    return table


def judge_check_table(result: Any, run_dir: Path) -> Table:
    table = Table(title=f"Judge {result.judge}: held-out figures with 95% intervals over texts (macro over values; "
                        f"ECE has none: it is biased upwards; kept = correction saved) — {run_dir}")
    for col in ("variant", "condition", "P", "R", "F1", "top-1", "top-3", "gold rank", "ECE", "missing", "kept"):
        table.add_column(col, justify="left" if col in ("variant", "condition") else "right",
                         no_wrap=col in ("variant", "condition"), overflow="fold")

    def cell(r: dict[str, Any], m: str, fmt: str = "{:.3f}") -> str:
        lo, hi = r.get(f"{m}_lo"), r.get(f"{m}_hi")
        value = fmt.format(r[m])
        return f"{value} [{lo:.2f}–{hi:.2f}]" if _finite(lo) and _finite(hi) else value

    for r in result.summary.to_dict("records"):
        table.add_row(r["variant"], r["condition"], *(cell(r, k) for k in ("macro_precision", "macro_recall",
                      "macro_f1", "top1", "top3")), cell(r, "mean_rank", "{:.2f}"), cell(r, "ece"), str(r["missing"]),
                      "✓" if r["kept"] else "")
    return table


def agreement_table(agreement: Any) -> Table:
    """Two judges' agreement on thresholded labels: Cohen's κ per value and over every label."""
    table = Table(title="Agreement between judges on the same texts (labels thresholded after each judge's kept "
                        "correction)")
    for col in ("variant", "judge A", "judge B", "value", "κ", "agreement", "labels"):
        table.add_column(col, justify="right" if col in ("κ", "agreement", "labels") else "left")
    for r in agreement.to_dict("records"):
        table.add_row(r["variant"], r["judge_a"], r["judge_b"], r["value"], f"{r['kappa']:.2f}",
                      f"{r['agreement']:.2f}", str(r["n"]))
    return table


def usage_tables(run_dir: Path) -> list[Table]:
    """Calls, tokens and cost per model and role over every session of a run, and calls per replica."""
    rows = read_usage(run_dir)
    table = Table(title="Model calls (all sessions of the run)")
    for col in ("model", "role", "calls", "cached", "retries", "failed", "tokens in", "tokens out", "cost $"):
        table.add_column(col, justify="right" if col not in ("model", "role") else "left")
    for m in sorted(merged_usage(rows), key=lambda m: (m["model"], m["role"])):
        calls = f"{m['calls']} ({m['batched']} batched)" if m.get("batched") else str(m["calls"])
        tokens_out = str(m["output_tokens"]) + (f" ({m['reasoning_tokens']} reasoning)" if m["reasoning_tokens"] else "")
        table.add_row(m["model"], m["role"], calls, str(m["cache_hits"]), str(m["retries"]),
                      str(m["errors"]), str(m["input_tokens"]), tokens_out, f"{m['cost']:.4f}")
    tables = [table]
    replicas = read_replicas(run_dir)
    if replicas:
        spread = Table(title="Calls per replica (all sessions; errors were retried, on another replica if one was up)")
        for col in ("model", "replica", "answered", "errors"):
            spread.add_column(col, justify="right" if col in ("answered", "errors") else "left")
        for r in replicas:
            spread.add_row(r["model"], r["url"], str(r["calls"]), str(r["errors"]))
        tables.append(spread)
    return tables


def preset_table(preset: str) -> Table:
    """Every setting of a preset with its value, its source and the jobs that read it (`adaem config --preset`)."""
    from .config import PAPER_FIXED, preset_sources

    table = Table(title=f"preset {preset}: each setting and its source", title_justify="left")
    for column in ("setting", "value", "source", "used by"):
        table.add_column(column, overflow="fold")
    for setting, value, source, used in preset_sources(preset):
        table.add_row(setting, value, source, used)
    if preset == "paper":
        for setting, value, source, used in PAPER_FIXED:
            table.add_row(f"({setting}, built in)", value, source, used)
    return table
