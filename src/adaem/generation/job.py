"""`adaem generate`: run (or resume, or extend) a search and write the benchmark and its summary."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..calibration import check_calibration
from ..config import RunConfig, Selection
from ..embeddings import check_installed
from ..errors import ConfigError, ModelCallError
from ..jobs import run_job_async, run_sync
from ..progress import progress_bar
from ..store import RunStore, read_jsonl, read_state, read_usage, write_jsonl
from ..theories import load_theory
from .search import SEARCH_METHOD, Search, pick_arms
from .seeds import load_seeds
from .selection import select_questions, selection_note


@dataclass
class GenerateResult:
    """A generated benchmark: its questions (as written to benchmark.jsonl), the run's summary, its directory."""

    run_dir: Path
    questions: list[dict[str, Any]]
    summary: dict[str, Any]
    failure: str | None = None

    @property
    def benchmark(self) -> Any:
        """The questions as a DataFrame: id, question, topic, category, country, P1/P2 scores and components."""
        import pandas as pd

        return pd.DataFrame(self.questions)


def check_config(config: RunConfig) -> None:
    if len(config.roles.explorers) < 2:
        raise ConfigError("roles.explorers: name at least 2 models; informativeness compares models' values")
    if len(config.roles.scorers) < 2:
        raise ConfigError("roles.scorers: name at least 2 models")
    if not config.roles.generators:
        raise ConfigError("roles.generators: name at least one generator model")
    load_theory(config.evaluation.theory)


def question_order(qid: str) -> tuple[int, ...]:
    """p12-w1-g0 → (12, 1, 0): questions by pull, then tree width, then generator."""
    return tuple(int(x) for x in re.findall(r"\d+", qid)) or (0,)


def _local_columns(q: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """generation.local_language: the question in its place's language (every row has every language's column,
    None where it has none, so the parquet file has one schema) and its P2 score there."""
    if not languages:
        return {}
    return {"local_language": q.get("local_language"), "p2_score_local": q.get("p2_score_local"),
            **{f"question_{lang}": q.get(f"question_{lang}") for lang in languages}}


def benchmark_rows(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flat rows of benchmark.jsonl / .parquet from accepted question records, in pull order."""
    questions = sorted(questions, key=lambda q: question_order(q["id"]))  # pulls finish in any order
    local = sorted({q["local_language"] for q in questions if q.get("local_language")})
    return [{"id": q["id"], "question": q["question"], "topic": q["topic"], "category": q["category"],
             "country": q["country"], "parent": q["parent"], "depth": q["depth"], "generator": q["generator"],
             "p1_score": q["p1_score"], "p2_score": q["p2_score"],
             **{f"p2_{k}": v for k, v in (q["p2"]["components"] or {}).items() if k != "score"},
             **_local_columns(q, local),
             "details": json.dumps({"p1": q["p1"], "p2": q["p2"], "fact": q["fact"], "refinements": q["refinements"],
                                    **{k: q[k] for k in ("p2_local", "local_translation") if k in q}})}
            for q in questions]


def write_benchmark(rows: list[dict[str, Any]], rule: Selection, path: Path) -> list[dict[str, Any]]:
    """Select the high-scoring questions and write them (JSONL, and parquet beside a .jsonl path or to a .parquet
    path), each row saying how it was selected. Returns the rows written."""
    selected = select_questions(rows, rule)
    note = selection_note(rule, len(rows), len(selected))
    selected = [{**row, "selection": note} for row in selected]
    jsonl = path.with_suffix(".jsonl") if path.suffix == ".parquet" else path
    if path.suffix != ".parquet":
        write_jsonl(jsonl, selected)
    if selected and (path.suffix == ".parquet" or path.name == "benchmark.jsonl"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(selected), path.with_suffix(".parquet"))
    return selected


def write_outputs(store_path: Path, result: dict[str, Any], config: RunConfig) -> dict[str, Any]:
    """benchmark.jsonl and .parquet (the selected questions, loadable with datasets.load_dataset("parquet", ...))
    and summary.json; every accepted question stays in outputs/benchmark.jsonl."""
    outputs = store_path / "outputs"
    questions = read_jsonl(outputs / "benchmark.jsonl")
    accepted = benchmark_rows(questions)
    flat = write_benchmark(accepted, config.generation.select, store_path / "benchmark.jsonl")
    rejected = read_jsonl(outputs / "rejected.jsonl")
    usage = read_usage(store_path)
    per_role: dict[str, dict[str, int]] = {}
    for row in usage:
        r = per_role.setdefault(row["role"], {"calls": 0, "cache_hits": 0, "tokens": 0})
        r["calls"] += row["calls"]
        r["cache_hits"] += row["cache_hits"]
        r["tokens"] += row["input_tokens"] + row["output_tokens"]
    calls = sum(r["calls"] for r in per_role.values())
    tokens = sum(r["tokens"] for r in per_role.values())
    summary = {
        "questions": len(flat),
        "accepted": len(accepted),
        "selection": selection_note(config.generation.select, len(accepted), len(flat)),
        "pulls": result["pulls"],
        "stopped": result.get("stopped") or "pull budget reached",
        "arms": [{**asdict(a), "mean": a.mean if a.rewarded else None} for a in result["arms"]],
        "trajectory": result["trajectory"],
        "mean_p2_score": (sum(q["p2_score"] for q in flat) / len(flat)) if flat else None,
        "mean_p2_score_accepted": (sum(q["p2_score"] for q in accepted) / len(accepted)) if accepted else None,
        "rejected": dict(Counter(r["reason"].split(" (")[0] for r in rejected)),
        "refinements_rejected": dict(Counter(h["rejected"].split(" (")[0] for q in questions
                                             for h in q.get("refinements", []) if h.get("rejected"))),
        "calls_per_role": per_role,
        "calls_per_question": calls / len(accepted) if accepted else None,  # per accepted question
        "tokens_per_question": tokens / len(accepted) if accepted else None,
        "explorers": config.roles.explorers, "scorers": config.roles.scorers,
        "generators": config.roles.generators, "judge": config.roles.judge,
    }
    (store_path / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def generate(config: RunConfig | None, out: Path, *, resume: bool = False) -> GenerateResult:
    """Run, resume or extend a search in `out` (on resume, a config with more models or a larger budget
    continues from the saved arms and questions)."""
    return run_sync(generate_async(config, out, resume=resume))


async def generate_async(config: RunConfig | None, out: Path, *, resume: bool = False) -> GenerateResult:
    """Run, resume or extend a search in `out` (on resume, a config with more models or a larger budget
    continues from the saved arms and questions)."""
    if config is not None:
        check_config(config)
    if resume and read_state(out, "arms") and read_state(out, "search_method") != SEARCH_METHOD:
        raise ConfigError(f"{out} was generated by an earlier adaem (seed questions scored by P1, made-up values "
                          f"for unmeasured components and labels): its arms cannot be extended on one scale; "
                          f"start a new run (its benchmark.jsonl can be a --seeds file)")
    store = RunStore.open(out, config, "generate", resume)
    config = store.config
    check_config(config)
    theory = load_theory(config.evaluation.theory)
    check_calibration(config, theory.name)
    seeds = load_seeds(config.generation.seeds)

    async def work(pool) -> dict[str, Any]:
        check_installed()  # the sentence-embedding model: a broken install is one line, before any call is paid
        await pool.preflight(list(config.roles.all_models()))
        with progress_bar(pool.ledger, in_flight=pool.in_flight) as progress:
            arms_total = len(pick_arms(seeds, config.generation.arms, config.sampling.seed or 0))
            arms_task = progress.add_task("generate: score seed arms", total=arms_total,
                                          completed=len(list(store.records("seed_scores"))))
            def step(kind: str) -> None:
                if kind == "seed":
                    progress.advance(arms_task)
                store.save_usage(pool.ledger)

            search = Search(store, pool, theory, seeds, on_step=step)
            pulls = progress.add_task("generate: pulls", total=config.generation.budget,
                                      completed=min(int(store.get("pulls_done", 0)), config.generation.budget))
            try:
                result = await search.run(progress, pulls)
            except ModelCallError as exc:  # state is saved after every pull: --resume continues from there
                result = {"arms": search.load_arms(), "pulls": int(store.get("pulls_done", 0)),
                          "trajectory": store.get("trajectory", []), "failure": str(exc)}
            finally:
                store.save_usage(pool.ledger)
        return result

    path = store.path
    result = await run_job_async(store, work, lambda r: bool(r.get("failure")))
    summary = write_outputs(path, result, config)
    questions = read_jsonl(path / "benchmark.jsonl")
    return GenerateResult(path, questions, summary, result.get("failure"))


def load_generation(run_dir: Path | str) -> GenerateResult:
    """A generate run's result from its files (benchmark.jsonl and summary.json, written when a session ends)."""
    path = Path(run_dir)
    questions = read_jsonl(path / "benchmark.jsonl")
    summary = json.loads((path / "summary.json").read_text()) if (path / "summary.json").exists() else {}
    return GenerateResult(path, questions, summary)


def select_benchmark(run_dir: Path | str, rule: Selection, out: Path) -> tuple[list[dict[str, Any]], int]:
    """`adaem select`: re-select a finished generate run's accepted questions by another rule, without any model
    call. Returns (the rows written to `out`, how many were accepted)."""
    run = Path(run_dir)
    accepted = benchmark_rows(read_jsonl(run / "outputs" / "benchmark.jsonl"))
    if not accepted:
        raise ConfigError(f"{run} holds no accepted questions (outputs/benchmark.jsonl): is it a generate run?")
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_benchmark(accepted, rule, out), len(accepted)
