"""How good is a value judge? `adaem judge-check`: label texts with known values, compare, calibrate.

The judge labels every text of a labelled set (shipped per theory in `data/judge_validation/`, or the user's
file: `text` + gold value ids) under each variant asked for (protocol × theory file, so definitions and few-shot
examples can be compared), plus three content-free texts. The texts are split in half by a seeded shuffle:
per-value thresholds are learned on the training half, and every figure is measured on the held-out half, raw
and with each correction (contextual calibration, thresholds, both). A correction that does not raise held-out
macro F1 is not kept; what is kept goes to `calibration-<variant>.json` for `evaluation.calibration`.

Resumable like every run: one line per (variant, text) in outputs/labels.jsonl, every call cached.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..calibration import CONTENT_FREE, Calibration, best_threshold, correct, f1_score
from ..config import RunConfig
from ..errors import ConfigError, OutputParseError
from ..jobs import run_job_async, run_sync
from ..judge import Protocol, label_text
from ..models import ModelPool
from ..store import RunStore, read_jsonl, read_sessions, read_usage
from ..theories import Theory, load_theory
from ..units import Unit, UnitsResult, run_phase

CONDITIONS = ("raw", "contextual", "thresholds", "contextual+thresholds")


# -- the labelled texts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledText:
    id: str
    text: str
    gold: tuple[str, ...]  # value ids the text expresses; () for a text that expresses none


def shipped_labels(theory: str) -> Path | None:
    path = resources.files("adaem").joinpath(f"data/judge_validation/{theory}.jsonl")
    return Path(str(path)) if path.is_file() else None


def load_labelled(path: str | Path, theory: Theory) -> list[LabelledText]:
    """A labelled set: JSONL / JSON array / CSV with `text` and `values` (a list, or ids separated by commas or
    semicolons; empty for none) and optional `id`. Every problem is one ConfigError naming the line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"labels: no such file {path}")
    raw = path.read_text(encoding="utf-8")
    rows: list[tuple[int, Any]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames or "text" not in reader.fieldnames or "values" not in reader.fieldnames:
            raise ConfigError(f"{path}: a CSV of labelled texts needs `text` and `values` columns, "
                              f"has {reader.fieldnames}")
        rows = [(n + 2, row) for n, row in enumerate(reader)]
    elif raw.lstrip().startswith("["):
        try:
            rows = list(enumerate(json.loads(raw), 1))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    else:
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}: line {n} is not JSON ({exc.msg})") from None
    known = set(theory.ids)
    out: list[LabelledText] = []
    for n, row in rows:
        if not isinstance(row, dict) or not str(row.get("text") or "").strip() or "values" not in row:
            raise ConfigError(f"{path}: line {n} needs a non-empty `text` and a `values` field")
        values = row["values"]
        if isinstance(values, str):
            values = [v.strip() for v in values.replace(";", ",").split(",") if v.strip()]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: line {n}: `values` must be a list of value ids, got {values!r}")
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ConfigError(f"{path}: line {n}: {', '.join(unknown)} is not a value of theory '{theory.name}' "
                              f"({', '.join(theory.ids)})")
        out.append(LabelledText(str(row.get("id") or f"line{n}"), str(row["text"]).strip(), tuple(dict.fromkeys(values))))
    if len({t.id for t in out}) != len(out):
        raise ConfigError(f"{path}: ids repeat; each labelled text needs its own id")
    if len(out) < 4:
        raise ConfigError(f"{path}: {len(out)} labelled texts; a check needs at least 4 (2 per half)")
    return out


def split_halves(texts: list[LabelledText], seed: int) -> tuple[list[str], list[str]]:
    """Training and held-out ids: a seeded shuffle cut in half."""
    ids = sorted(t.id for t in texts)
    random.Random(seed).shuffle(ids)
    return ids[: len(ids) // 2], ids[len(ids) // 2:]


# -- metrics (pure) ------------------------------------------------------------------------------------------
def per_value_metrics(gold: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> list[dict[str, float]]:
    """Precision, recall, F1 and support per column; a missing label (NaN) counts as 'not expressed'."""
    pred = np.nan_to_num(prob, nan=0.0) >= thresholds
    rows = []
    for j in range(gold.shape[1]):
        g, p = gold[:, j], pred[:, j]
        tp = float(np.sum(g & p))
        rows.append({"precision": tp / p.sum() if p.sum() else 0.0, "recall": tp / g.sum() if g.sum() else 0.0,
                     "f1": f1_score(g, p), "support": int(g.sum()), "predicted": int(p.sum())})
    return rows


def rank_metrics(gold: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Over texts with exactly one gold value: top-1 and top-3 accuracy and the mean rank of the gold value
    (1 = the judge's most probable value; ties share the worse rank, missing labels rank last)."""
    single = gold.sum(axis=1) == 1
    if not single.any():
        return {"single_texts": 0, "top1": float("nan"), "top3": float("nan"), "mean_rank": float("nan")}
    p = np.nan_to_num(prob[single], nan=-1.0)
    g = gold[single].argmax(axis=1)
    gold_p = p[np.arange(len(g)), g]
    ranks = (p >= gold_p[:, None]).sum(axis=1)
    return {"single_texts": int(single.sum()), "top1": float(np.mean(ranks == 1)), "top3": float(np.mean(ranks <= 3)),
            "mean_rank": float(ranks.mean())}


def calibration_curve(gold: np.ndarray, prob: np.ndarray, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error of P(yes) over every (text, value) label, and the reliability diagram's
    bins (mean confidence, share expressed, count) over equal-width bins of [0, 1]."""
    keep = ~np.isnan(prob)
    p, g = prob[keep], gold[keep].astype(float)
    if not len(p):
        return float("nan"), []
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece, out = 0.0, []
    for b in range(bins):
        m = which == b
        if m.any():
            conf, acc = float(p[m].mean()), float(g[m].mean())
            ece += m.sum() / len(p) * abs(acc - conf)
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "confidence": conf, "expressed": acc, "n": int(m.sum())})
    return float(ece), out


def corrected(prob: np.ndarray, priors: np.ndarray | None, thresholds: np.ndarray | None,
              target: float) -> np.ndarray:
    """P(yes) with the content-free priors divided out and/or per-value thresholds mapped onto `target` (what
    `Calibration.apply` does to one label, over a texts × values array)."""
    out = prob.copy()
    for (i, j), p in np.ndenumerate(prob):
        if not np.isnan(p):
            out[i, j] = correct(p, None if priors is None else float(priors[j]),
                                None if thresholds is None else float(thresholds[j]), target)
    return out


def summarize(gold: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, Any]:
    per_value = per_value_metrics(gold, prob, np.full(gold.shape[1], threshold))
    ece, bins = calibration_curve(gold, prob)
    return {"macro_precision": float(np.mean([r["precision"] for r in per_value])),
            "macro_recall": float(np.mean([r["recall"] for r in per_value])),
            "macro_f1": float(np.mean([r["f1"] for r in per_value])), **rank_metrics(gold, prob), "ece": ece,
            "reliability": bins, "per_value": per_value, "missing": int(np.isnan(prob).sum())}


# -- the job -------------------------------------------------------------------------------------------------
@dataclass
class Variant:
    name: str
    theory: Theory
    protocol: Protocol


@dataclass
class JudgeCheck:
    """What a judge-check measured, per variant and correction, on the held-out half."""

    judge: str
    summary: Any  # DataFrame: variant, condition, macro P/R/F1, top1, top3, mean_rank, ece, kept
    per_value: Any  # DataFrame: variant, condition, value, precision, recall, f1, support, threshold
    calibrations: dict[str, str] = field(default_factory=dict)  # variant -> calibration file it wrote
    failures: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None
    stopped: str | None = None
    left: int = 0
    seconds: float = 0.0  # wall time of every session of the run


def _variants(theories: list[str], protocols: list[str]) -> list[Variant]:
    loaded = [(t, load_theory(t)) for t in theories]
    ids = loaded[0][1].ids
    for name, theory in loaded[1:]:
        if sorted(theory.ids) != sorted(ids):
            raise ConfigError(f"theory {name}: a variant must have the same values as {theories[0]} ({', '.join(ids)})")
    for p in protocols:
        if p not in ("per-value", "joint"):
            raise ConfigError(f"protocol: 'per-value' or 'joint', got {p!r}")
    many = len(loaded) > 1
    return [Variant(f"{Path(t).stem if many else theory.name}/{p}", theory, cast(Protocol, p))
            for t, theory in loaded for p in protocols]


async def _label_all(store: RunStore, pool: ModelPool, variants: list[Variant],
                     texts: list[LabelledText]) -> UnitsResult:
    config = store.config
    judge = pool.get(config.roles.judge)

    async def one(variant: Variant, key: str, item_id: str, text: str) -> dict[str, Any]:
        record: dict[str, Any] = {"key": key, "variant": variant.name, "id": item_id}
        try:
            labels = await label_text(judge, variant.theory, text, variant.protocol)
            record.update(values=labels.values, calls=labels.calls, parse_failures=labels.parse_failures)
        except OutputParseError as exc:
            record.update(values=None, parse_failure=str(exc))
        return record

    units = []
    for v in variants:
        items = [(t.id, t.text) for t in texts] + [(f"content-free-{i}", cf) for i, cf in enumerate(CONTENT_FREE)]
        units += [Unit("labels", f"{v.name}|{item_id}", partial(one, v, f"{v.name}|{item_id}", item_id, text or " "))
                  for item_id, text in items]
    return await run_phase(store, pool, units, label=f"judge-check: {judge.name}", models=[judge.name],
                           max_cost=config.evaluation.max_cost, embeddings=False)


def judge_check(config: RunConfig | None = None, out: Path | str | None = None, *, labels: str | Path | None = None,
                theories: list[str] | None = None, protocols: list[str] | None = None, seed: int = 0,
                resume: bool = False) -> JudgeCheck:
    """Check config.roles.judge against labelled texts (see `judge_check_async`)."""
    return run_sync(judge_check_async(config, out, labels=labels, theories=theories, protocols=protocols, seed=seed,
                                      resume=resume))


async def judge_check_async(config: RunConfig | None = None, out: Path | str | None = None, *,
                            labels: str | Path | None = None, theories: list[str] | None = None,
                            protocols: list[str] | None = None, seed: int = 0, resume: bool = False) -> JudgeCheck:
    """Label a labelled set with the judge under each variant (theory files × protocols; default: the config's),
    and measure it on the held-out half, raw and corrected."""
    store = RunStore.open(Path(out or Path("runs") / "judge-check"), config, "judge-check", resume)
    config = store.config
    theories = theories or store.get("theories") or [config.evaluation.theory]
    protocols = protocols or store.get("protocols") or [config.evaluation.protocol]
    variants = _variants(theories, protocols)
    labels_path = labels or store.get("labels") or shipped_labels(variants[0].theory.name)
    if labels_path is None:
        raise ConfigError(f"no labelled set ships for theory '{variants[0].theory.name}': give one with --labels FILE "
                          "(JSONL or CSV with `text` and `values`)")
    texts = load_labelled(labels_path, variants[0].theory)
    store.put("theories", theories)
    store.put("protocols", protocols)
    store.put("labels", str(labels_path))
    result = await run_job_async(store, lambda pool: _label_all(store, pool, variants, texts),
                                 lambda r: bool(r.failures or r.stopped))
    check = summarize_check(Path(store.path), config, variants, texts, seed, result.failures)
    check.stopped, check.left = result.stopped, result.left
    return check


def summarize_check(run_dir: Path, config: RunConfig, variants: list[Variant], texts: list[LabelledText],
                    seed: int, failures: list[dict[str, Any]] | None = None) -> JudgeCheck:
    import pandas as pd

    records = {r["key"]: r for r in read_jsonl(run_dir / "outputs" / "labels.jsonl")}
    ids = variants[0].theory.ids
    train, test = split_halves(texts, seed)
    by_id = {t.id: t for t in texts}
    threshold = config.evaluation.threshold
    summary_rows, value_rows, report, calibrations = [], [], {}, {}

    def arrays(variant: Variant, which: list[str]) -> tuple[np.ndarray, np.ndarray]:
        gold = np.array([[d in by_id[i].gold for d in ids] for i in which], dtype=bool).reshape(len(which), len(ids))
        prob = np.full((len(which), len(ids)), np.nan)
        for row, i in enumerate(which):
            values = (records.get(f"{variant.name}|{i}") or {}).get("values") or {}
            prob[row] = [values.get(d, np.nan) for d in ids]
        return gold, prob

    for v in variants:
        cf = [(records.get(f"{v.name}|content-free-{i}") or {}).get("values") or {} for i in range(len(CONTENT_FREE))]
        priors = np.array([np.nanmean([c.get(d, np.nan) for c in cf] or [np.nan]) if any(d in c for c in cf)
                           else 0.5 for d in ids])
        g_train, p_train = arrays(v, train)
        g_test, p_test = arrays(v, test)
        cc_train = corrected(p_train, priors, None, threshold)
        learned = {"thresholds": np.array([best_threshold(g_train[:, j], p_train[:, j])[0] for j in range(len(ids))]),
                   "contextual+thresholds": np.array([best_threshold(g_train[:, j], cc_train[:, j])[0]
                                                      for j in range(len(ids))])}
        results = {}
        for cond in CONDITIONS:
            pri = priors if cond.startswith("contextual") else None
            thr = learned.get(cond)
            results[cond] = summarize(g_test, corrected(p_test, pri, thr, threshold), threshold)
        base = results["raw"]["macro_f1"]
        best = max(CONDITIONS, key=lambda c: (results[c]["macro_f1"] - base > 1e-9, results[c]["macro_f1"],
                                              -CONDITIONS.index(c)))
        keep = best if results[best]["macro_f1"] > base + 1e-9 else "raw"
        cal = Calibration(judge=config.roles.judge, theory=v.theory.name, protocol=v.protocol,
                          priors=dict(zip(ids, map(float, priors), strict=True)) if keep.startswith("contextual") else {},
                          thresholds=dict(zip(ids, map(float, learned[keep]), strict=True)) if keep in learned else {},
                          notes=f"kept '{keep}': held-out macro F1 {results[keep]['macro_f1']:.3f} vs raw {base:.3f} "
                                f"on {len(test)} texts (thresholds learned on {len(train)})")
        path = run_dir / f"calibration-{v.name.replace('/', '-')}.json"
        cal.save(path)
        calibrations[v.name] = str(path)
        for cond in CONDITIONS:
            r = results[cond]
            summary_rows.append({"variant": v.name, "condition": cond, "kept": cond == keep,
                                 **{k: r[k] for k in ("macro_precision", "macro_recall", "macro_f1", "top1", "top3",
                                                      "mean_rank", "ece", "missing", "single_texts")}})
            thr = learned.get(cond, np.full(len(ids), threshold))
            for d, row, t in zip(ids, r["per_value"], thr, strict=True):
                value_rows.append({"variant": v.name, "condition": cond, "value": d, **row, "threshold": float(t)})
        report[v.name] = {"conditions": results, "kept": keep, "priors": dict(zip(ids, map(float, priors), strict=True)),
                          "calibration": str(path)}
    usage = read_usage(run_dir)
    seconds = sum(s["finished"] - s["started"] for s in read_sessions(run_dir) if s["finished"])
    summary, per_value = pd.DataFrame(summary_rows), pd.DataFrame(value_rows)
    summary.to_csv(run_dir / "judge_check.csv", index=False)
    per_value.to_csv(run_dir / "judge_check_values.csv", index=False)
    (run_dir / "judge_check.json").write_text(json.dumps(
        {"judge": config.roles.judge, "texts": len(texts), "train": len(train), "test": len(test), "seed": seed,
         "threshold": threshold, "variants": report, "usage": usage, "seconds": round(seconds, 1)}, indent=1))
    _chart(report, run_dir / "judge_check.png")
    _page(config.roles.judge, summary, per_value, ids, len(test), run_dir / "judge_check.html")
    return JudgeCheck(config.roles.judge, summary, per_value, calibrations, failures or [], run_dir, seconds=seconds)


def _chart(report: dict[str, Any], path: Path) -> None:
    """Reliability diagrams: per variant, raw and contextually calibrated P(yes) against the share expressed."""
    from ..charts import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(report), figsize=(4.2 * len(report), 4.0), squeeze=False)
    for ax, (name, r) in zip(axes[0], report.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        for cond, color in (("raw", "#e76f51"), ("contextual", "#2a9d8f")):
            bins = r["conditions"][cond]["reliability"]
            ax.plot([b["confidence"] for b in bins], [b["expressed"] for b in bins], marker="o", color=color,
                    label=f"{cond} (ECE {r['conditions'][cond]['ece']:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("judge's P(yes)")
        ax.set_ylabel("share gold-expressed")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _page(judge: str, summary: Any, per_value: Any, ids: list[str], held_out: int, path: Path) -> None:
    """A standalone page: the summary table, per-value F1 of each variant's kept condition, the diagram."""
    def table(frame: Any) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(f'{v:.3f}' if isinstance(v, float) else str(v))}</td>"
                                        for v in row) + "</tr>" for row in frame.itertuples(index=False))
        return f"<table><tr>{head}</tr>{body}</table>"

    kept = summary[summary.kept][["variant", "condition"]].itertuples(index=False)
    rows = [per_value[(per_value.variant == v) & (per_value.condition == c)] for v, c in kept]
    import pandas as pd

    values = pd.concat(rows)[["variant", "condition", "value", "precision", "recall", "f1", "support", "threshold"]]
    path.write_text(f"""<!doctype html><meta charset="utf-8"><title>judge-check: {html.escape(judge)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style>
<h1>Judge check: {html.escape(judge)}</h1>
<p>Every figure is on the held-out half ({held_out} texts); thresholds were learned on the other half. A correction is
kept only when it raised held-out macro F1.</p>
<h2>Summary</h2>{table(summary)}
<h2>Per value (kept condition)</h2>{table(values)}
<h2>Reliability</h2><img src="judge_check.png" alt="reliability diagrams">
""", encoding="utf-8")


def load_judge_check(run_dir: Path | str) -> JudgeCheck:
    import pandas as pd

    path = Path(run_dir)
    if not (path / "judge_check.csv").exists():
        raise ConfigError(f"{path} holds no finished judge check (no judge_check.csv): resume it first")
    data = json.loads((path / "judge_check.json").read_text())
    return JudgeCheck(data["judge"], pd.read_csv(path / "judge_check.csv"), pd.read_csv(path / "judge_check_values.csv"),
                      {k: v["calibration"] for k, v in data["variants"].items()}, [], path,
                      seconds=data.get("seconds", 0.0))
