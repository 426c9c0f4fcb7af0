"""How good is a value judge? `adaem judge-check`: label texts with known values, compare, calibrate.

Each judge labels every text of a labelled set (shipped per theory in `data/judge_validation/`, or the user's
file: `text` + gold value ids) under each variant asked for (theory file × protocol × per-value prompt, so
definitions, few-shot examples and prompts can be compared), plus three content-free texts. The texts are split in
half by a seeded shuffle: corrections are learned on the training half, and every figure is measured on the
held-out half, raw and corrected (contextual calibration, one global threshold, per-value thresholds, contextual +
thresholds), each with an interval over texts. A correction is kept only if it raises held-out macro F1
without worsening the ranking of a text's values beyond the raw figures' intervals; what is kept goes to
`calibration-<variant>.json` for `evaluation.calibration`, with its figures. With `--calibration FILE`, a saved
calibration is applied unchanged to every text of another set (external validation: nothing is learned); with
several judges, their agreement (Cohen's κ on thresholded labels) is reported too. The metrics are pure functions
in `judge_metrics.py`.

Resumable like every run: one line per (variant, text) in outputs/labels.jsonl, every call cached.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import random
import warnings
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np

from ..calibration import CONTENT_FREE, Calibration, best_threshold, load_calibration
from ..config import RunConfig
from ..errors import ConfigError, OutputParseError
from ..jobs import run_job_async, run_sync
from ..judge import JudgePrompt, Protocol, TextKind, label_text
from ..models import ModelPool
from ..store import RunStore, read_jsonl, read_sessions, read_usage
from ..theories import Theory, load_theory
from ..units import Unit, UnitsResult, run_phase
from .judge_metrics import (
    METRICS,
    binary_agreement,
    bootstrap_intervals,
    choose_correction,
    global_threshold,
    learn_model,
    learn_relative,
    summarize,
)


# -- the labelled texts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledText:
    id: str
    text: str
    gold: tuple[str, ...]  # value ids the text expresses; () for a text that expresses none
    points: tuple[str, ...] = ()  # a whole answer's key points (a `points` list in the file), for --by-point


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
        points = row.get("points") or []
        points = tuple(p if isinstance(p, str) else ": ".join(x for x in (p.get("point"), p.get("justification")) if x)
                       for p in points if p)
        out.append(LabelledText(str(row.get("id") or f"line{n}"), str(row["text"]).strip(), tuple(dict.fromkeys(values)),
                                points))
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


# -- the job -------------------------------------------------------------------------------------------------
@dataclass
class Variant:
    name: str
    theory: Theory
    protocol: Protocol
    prompt: JudgePrompt = "one-definition"
    judge: str = ""
    by_point: bool = False  # each key point labelled on its own, the text's P(yes) the highest of its points' (OR)
    members: tuple[str, ...] = ()  # an ensemble: the variants (one per judge) whose P(yes) it averages; no calls

    @property
    def suffix(self) -> str:
        """The variant without its judge: what two judges are compared on."""
        return self.name.split(":", 1)[-1]


@dataclass
class JudgeCheck:
    """What a judge-check measured, per variant and correction, on the held-out half (or, with an external
    calibration, on every text), each figure with an interval over texts (`judge_metrics.bootstrap_intervals`)."""

    judge: str
    summary: Any  # DataFrame: variant, condition, macro P/R/F1, top1, top3, mean_rank, ece (+ _lo/_hi), kept
    per_value: Any  # DataFrame: variant, condition, value, precision, recall, f1, support, threshold
    calibrations: dict[str, str] = field(default_factory=dict)  # variant -> calibration file it wrote
    failures: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None
    stopped: str | None = None
    left: int = 0
    seconds: float = 0.0  # wall time of every session of the run
    agreement: Any = None  # DataFrame with two judges or more: variant, judge_a, judge_b, value, kappa, agreement, n


def _variants(judges: list[str], theories: list[str], protocols: list[str], prompts: list[str],
              by_point: bool = False) -> list[Variant]:
    loaded = [(t, load_theory(t)) for t in theories]
    ids = loaded[0][1].ids
    for name, theory in loaded[1:]:
        if sorted(theory.ids) != sorted(ids):
            raise ConfigError(f"theory {name}: a variant must have the same values as {theories[0]} ({', '.join(ids)})")
    for p in protocols:
        if p not in ("per-value", "joint"):
            raise ConfigError(f"protocol: 'per-value' or 'joint', got {p!r}")
    for p in prompts:
        if p not in get_args(JudgePrompt):
            raise ConfigError(f"judge prompt: one of {', '.join(get_args(JudgePrompt))}, got {p!r}")
    many = len(loaded) > 1
    out: list[Variant] = []
    for judge in judges:
        for t, theory in loaded:
            for protocol in protocols:
                for prompt in (prompts if protocol == "per-value" else ["one-definition"]):
                    name = f"{Path(t).stem if many else theory.name}/{protocol}"
                    if protocol == "per-value" and (len(prompts) > 1 or prompt != "one-definition"):
                        name += f"/{prompt}"
                    if len(judges) > 1:
                        name = f"{judge}:{name}"
                    if name not in {v.name for v in out}:
                        out.append(Variant(name, theory, cast(Protocol, protocol), cast(JudgePrompt, prompt), judge))
                        if by_point:
                            out.append(Variant(f"{name}/by-point", theory, cast(Protocol, protocol),
                                               cast(JudgePrompt, prompt), judge, by_point=True))
    if len(set(judges)) > 1:  # the judges' mean P(yes) per value: an ensemble measured like a judge, at their summed cost
        for suffix in dict.fromkeys(v.suffix for v in out):
            members = [v for v in out if v.suffix == suffix]
            first = members[0]
            out.append(Variant(f"mean:{suffix}", first.theory, first.protocol, first.prompt,
                               f"mean({', '.join(v.judge for v in members)})", first.by_point,
                               tuple(v.name for v in members)))
    return out


async def _label_all(store: RunStore, pool: ModelPool, variants: list[Variant],
                     texts: list[LabelledText]) -> UnitsResult:
    config = store.config

    async def one(variant: Variant, key: str, item_id: str, text: str) -> dict[str, Any]:
        record: dict[str, Any] = {"key": key, "variant": variant.name, "id": item_id}
        try:
            labels = await label_text(pool.get(variant.judge), variant.theory, text, variant.protocol,
                                      prompt=variant.prompt)
            record.update(values=labels.values, calls=labels.calls, parse_failures=labels.parse_failures)
        except OutputParseError as exc:
            record.update(values=None, parse_failure=str(exc))
        return record

    units = []
    for v in variants:
        if v.members:  # an ensemble makes no calls of its own
            continue
        if v.by_point:  # the answer's points one by one (unit: opinion), each its own unit
            items = [(f"{t.id}|p{k}", point) for t in texts for k, point in enumerate(t.points or (t.text,))]
        else:
            items = [(t.id, t.text) for t in texts]
        items += [(f"content-free-{i}", cf) for i, cf in enumerate(CONTENT_FREE)]
        units += [Unit("labels", f"{v.name}|{item_id}", partial(one, v, f"{v.name}|{item_id}", item_id, text or " "))
                  for item_id, text in items]
    judges = list(dict.fromkeys(v.judge for v in variants if not v.members))
    return await run_phase(store, pool, units, label=f"judge-check: {', '.join(judges)}", models=judges,
                           max_cost=config.evaluation.max_cost, embeddings=False)


def judge_check(config: RunConfig | None = None, out: Path | str | None = None, *, labels: str | Path | None = None,
                theories: list[str] | None = None, protocols: list[str] | None = None,
                prompts: list[str] | None = None, judges: list[str] | None = None,
                calibration: str | Path | None = None, seed: int = 0, resume: bool = False,
                unit: str | None = None, by_point: bool | None = None) -> JudgeCheck:
    """Check config.roles.judge (or several judges) against labelled texts (see `judge_check_async`)."""
    return run_sync(judge_check_async(config, out, labels=labels, theories=theories, protocols=protocols,
                                      prompts=prompts, judges=judges, calibration=calibration, seed=seed,
                                      resume=resume, unit=unit, by_point=by_point))


async def judge_check_async(config: RunConfig | None = None, out: Path | str | None = None, *,
                            labels: str | Path | None = None, theories: list[str] | None = None,
                            protocols: list[str] | None = None, prompts: list[str] | None = None,
                            judges: list[str] | None = None, calibration: str | Path | None = None,
                            seed: int = 0, resume: bool = False, unit: str | None = None,
                            by_point: bool | None = None) -> JudgeCheck:
    """Label a labelled set with each judge under each variant (theory files × protocols × per-value prompts;
    default: the config's) and measure it on the held-out half, raw and corrected; with `calibration` (a file a
    judge-check wrote), apply it unchanged to every text instead of learning anything (external validation).
    With two judges or more, also their agreement (Cohen's κ on thresholded labels, per value and overall).
    `unit`: the kind of text the labelled set holds, "opinion" (default: one opinion, as the shipped sets) or
    "answer" (whole answers); a calibration learned here applies (`auto`) to runs that label that kind.
    `by_point`: also label each whole answer's key points one by one (the file's `points`) and take the answer's
    values as their OR (`unit: opinion`'s labelling), beside the whole-answer labelling of the same texts."""
    store = RunStore.open(Path(out or Path("runs") / "judge-check"), config, "judge-check", resume)
    config = store.config
    judges = judges or store.get("judges") or [config.roles.judge]
    theories = theories or store.get("theories") or [config.evaluation.theory]
    protocols = protocols or store.get("protocols") or [config.evaluation.protocol]
    prompts = prompts or store.get("prompts") or [config.evaluation.judge_prompt]
    calibration = calibration or store.get("calibration")
    unit = unit or store.get("unit") or "opinion"
    if unit not in get_args(TextKind):
        raise ConfigError(f"unit: 'opinion' or 'answer', got {unit!r}")
    by_point = bool(store.get("by_point")) if by_point is None else by_point
    variants = _variants(judges, theories, protocols, prompts, by_point)
    external = load_calibration(calibration, *_calibration_key(variants[0])) if calibration else None
    if external is not None and len(variants) > 1:
        raise ConfigError("--calibration applies one saved calibration: check one judge, theory and protocol")
    labels_path = labels or store.get("labels") or shipped_labels(variants[0].theory.name)
    if labels_path is None:
        raise ConfigError(f"no labelled set ships for theory '{variants[0].theory.name}': give one with --labels FILE "
                          "(JSONL or CSV with `text` and `values`)")
    texts = load_labelled(labels_path, variants[0].theory)
    for key, value in (("judges", judges), ("theories", theories), ("protocols", protocols), ("prompts", prompts),
                       ("labels", str(labels_path)), ("calibration", str(calibration) if calibration else None),
                       ("unit", unit), ("by_point", by_point)):
        store.put(key, value)
    result = await run_job_async(store, lambda pool: _label_all(store, pool, variants, texts),
                                 lambda r: bool(r.failures or r.stopped))
    check = summarize_check(Path(store.path), config, variants, texts, seed, result.failures, external,
                            labels_name=Path(labels_path).name, unit=unit)
    check.stopped, check.left = result.stopped, result.left
    return check


def _calibration_key(variant: Variant) -> tuple[str, str, str, str]:
    return variant.judge, variant.theory.name, variant.protocol, variant.prompt


def summarize_check(run_dir: Path, config: RunConfig, variants: list[Variant], texts: list[LabelledText],
                    seed: int, failures: list[dict[str, Any]] | None = None, external: Calibration | None = None,
                    labels_name: str = "", unit: str = "opinion") -> JudgeCheck:
    import pandas as pd

    records = {r["key"]: r for r in read_jsonl(run_dir / "outputs" / "labels.jsonl")}
    ids = variants[0].theory.ids
    train, test = split_halves(texts, seed)
    if external is not None:  # nothing is learned: every text is held out
        train, test = [], sorted(t.id for t in texts)
    by_id = {t.id: t for t in texts}
    threshold = config.evaluation.threshold
    summary_rows, value_rows, report, calibrations = [], [], {}, {}
    kept_labels: dict[str, np.ndarray] = {}

    by_name = {v.name: v for v in variants}

    def arrays(variant: Variant, which: list[str]) -> tuple[np.ndarray, np.ndarray]:
        gold = np.array([[d in by_id[i].gold for d in ids] for i in which], dtype=bool).reshape(len(which), len(ids))
        if variant.members:  # the mean of the judges' P(yes); a text one judge could not label takes the other's
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return gold, np.nanmean([arrays(by_name[m], which)[1] for m in variant.members], axis=0)
        prob = np.full((len(which), len(ids)), np.nan)
        for row, i in enumerate(which):
            if variant.by_point:  # OR over the points: a value's P(yes) is its highest point's (thresholded alike)
                points = [(records.get(f"{variant.name}|{i}|p{k}") or {}).get("values") or {}
                          for k in range(max(1, len(by_id[i].points)))]
                prob[row] = [max((p[d] for p in points if d in p), default=np.nan) for d in ids]
                continue
            values = (records.get(f"{variant.name}|{i}") or {}).get("values") or {}
            prob[row] = [values.get(d, np.nan) for d in ids]
        return gold, prob

    def priors_of(v: Variant) -> np.ndarray:
        """The judge's mean P(yes) per value on content-free texts (the ensemble's: its judges' mean)."""
        if v.members:
            return np.nanmean([priors_of(by_name[m]) for m in v.members], axis=0)
        cf = [(records.get(f"{v.name}|content-free-{i}") or {}).get("values") or {} for i in range(len(CONTENT_FREE))]
        return np.array([np.nanmean([c.get(d, np.nan) for c in cf] or [np.nan]) if any(d in c for c in cf)
                         else 0.5 for d in ids])

    for v in variants:
        priors = priors_of(v)
        g_test, p_test = arrays(v, test)
        base: dict[str, Any] = {"judge": v.judge, "theory": v.theory.name, "protocol": v.protocol, "prompt": v.prompt,
                                "unit": "opinion" if v.by_point and not v.members else unit}  # per point, before OR
        if external is not None:
            learned = {"raw": Calibration(**base), "calibrated": external}
        else:  # by point, a correction is applied to each point before the OR: only per-value ones carry over
            learned = learn_corrections(*arrays(v, train), priors, ids, threshold, base,
                                        vector=not v.by_point or bool(v.members))  # an ensemble's: the mean of ORs
        probs = {cond: cal.apply_array(p_test, ids, threshold) for cond, cal in learned.items()}
        results = {cond: summarize(g_test, prob, threshold) for cond, prob in probs.items()}
        intervals = {cond: bootstrap_intervals(g_test, prob, threshold, seed=seed) for cond, prob in probs.items()}
        if external is None:
            keep = choose_correction(results, intervals["raw"])
            cal = learned[keep]
            cal.notes = (f"kept '{keep}': held-out macro F1 {results[keep]['macro_f1']:.3f} vs raw "
                         f"{results['raw']['macro_f1']:.3f} on {len(test)} texts (learned on {len(train)}); kept only "
                         f"if the ranking of a text's values did not worsen beyond the raw figures' intervals")
            cal.quality = {"kept": keep, "figures": {
                c: _quality(results[c], intervals[c], c, len(test), labels_name,
                            per_value_intervals(g_test, probs[c], threshold, ids))
                for c in dict.fromkeys(("raw", keep))}}
            path = run_dir / f"calibration-{v.name.replace('/', '-').replace(':', '-')}.json"
            cal.save(path)
            calibrations[v.name] = str(path)
        else:
            keep = "calibrated"
        all_gold, all_prob = arrays(v, sorted(by_id))
        kept_labels[v.name] = learned[keep].apply_array(all_prob, ids, threshold)
        learned_thresholds = {cond: np.array([cal.thresholds.get(d, threshold) for d in ids])
                              for cond, cal in learned.items() if cal.thresholds}
        for cond, r in results.items():
            summary_rows.append({"variant": v.name, "condition": cond, "kept": cond == keep,
                                 **{k: r[k] for k in ("macro_precision", "macro_recall", "macro_f1", "top1", "top3",
                                                      "mean_rank", "ece", "missing", "single_texts")},
                                 **{f"{m}_{end}": intervals[cond][m][i] for m in METRICS
                                    for i, end in enumerate(("lo", "hi"))}, "texts": len(test)})
            thr = learned_thresholds.get(cond, np.full(len(ids), threshold))
            for d, row, t in zip(ids, r["per_value"], thr, strict=True):
                value_rows.append({"variant": v.name, "condition": cond, "value": d, **row, "threshold": float(t)})
        report[v.name] = {"conditions": results, "intervals": intervals, "kept": keep,
                          "per_value": {c: per_value_intervals(g_test, prob, threshold, ids) for c, prob in probs.items()},
                          "priors": dict(zip(ids, map(float, priors), strict=True)),
                          "calibration": calibrations.get(v.name), "judge": v.judge, "prompt": v.prompt,
                          "protocol": v.protocol, "theory": v.theory.name, "unit": unit}
    agreement = _agreement(variants, kept_labels, ids, threshold)
    usage = read_usage(run_dir)
    seconds = sum(s["finished"] - s["started"] for s in read_sessions(run_dir) if s["finished"])
    summary, per_value = pd.DataFrame(summary_rows), pd.DataFrame(value_rows)
    summary.to_csv(run_dir / "judge_check.csv", index=False)
    per_value.to_csv(run_dir / "judge_check_values.csv", index=False)
    if agreement is not None:
        agreement.to_csv(run_dir / "judge_agreement.csv", index=False)
    judges = list(dict.fromkeys(v.judge for v in variants if not v.members))
    (run_dir / "judge_check.json").write_text(json.dumps(
        {"judge": judges[0], "judges": judges, "texts": len(texts), "train": len(train), "test": len(test),
         "seed": seed, "threshold": threshold, "labels": labels_name,
         "external_calibration": None if external is None else asdict(external),
         "variants": report, "agreement": None if agreement is None else agreement.to_dict(orient="records"),
         "usage": usage, "seconds": round(seconds, 1)}, indent=1, default=float))
    _chart(report, run_dir / "judge_check.png")
    _page(", ".join(judges), summary, per_value, ids, len(test), run_dir / "judge_check.html", agreement,
          external is not None)
    return JudgeCheck(", ".join(judges), summary, per_value, calibrations, failures or [], run_dir, seconds=seconds,
                      agreement=agreement)


def learn_corrections(gold: np.ndarray, prob: np.ndarray, priors: np.ndarray, ids: list[str], target: float,
                      base: dict[str, Any], vector: bool = True) -> dict[str, Calibration]:
    """Every correction of CONDITIONS learned on the training texts (gold, prob: texts × values), as calibrations;
    without `vector`, only those that correct each value on its own (they commute with an OR over points)."""
    def thresholds(p: np.ndarray) -> dict[str, float]:
        return {d: best_threshold(gold[:, j], p[:, j])[0] for j, d in enumerate(ids)}

    prior_map = dict(zip(ids, map(float, priors), strict=True))
    out = {"raw": Calibration(**base), "contextual": Calibration(**base, priors=prior_map),
           "global threshold": Calibration(**base, thresholds=dict.fromkeys(ids, global_threshold(gold, prob))),
           "thresholds": Calibration(**base, thresholds=thresholds(prob))}
    out["contextual+thresholds"] = Calibration(**base, priors=prior_map, thresholds=thresholds(
        out["contextual"].apply_array(prob, ids, target)))
    if not vector:
        return out
    out["relative"] = Calibration(**base, relative=learn_relative(gold, prob, target))
    for kind in ("logistic", "isotonic"):
        model = learn_model(kind, gold, prob, ids)
        modelled = Calibration(**base, model=model).apply_array(prob, ids, target)
        out[kind] = Calibration(**base, model=model, thresholds=thresholds(modelled))
    return out


def _quality(result: dict[str, Any], interval: dict[str, tuple[float, float]], condition: str, texts: int,
             labels: str, per_value: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The figures a report shows beside the profiles a judge labelled: the kept condition's held-out metrics (an
    interval that does not exist, the ECE's, is left out: strict JSON has no NaN) and each value's precision and
    recall with their intervals."""
    shown = {f"{m}_ci": list(interval[m]) for m in METRICS if all(math.isfinite(x) for x in interval[m])}
    return {"condition": condition, "texts": texts, "labels": labels, **{m: result[m] for m in METRICS}, **shown,
            **({"per_value": per_value} if per_value is not None else {})}


def per_value_intervals(gold: np.ndarray, prob: np.ndarray, threshold: float, ids: list[str],
                        level: float = 0.95) -> list[dict[str, Any]]:
    """Per value: precision (of the texts the judge said express it, the share that do) and recall (of those
    that do, the share it found), each with Wilson's interval over those texts (independent items); None where
    there is no text to count."""
    from ..resampling import wilson_interval

    pred = np.nan_to_num(prob, nan=0.0) >= threshold
    rows: list[dict[str, Any]] = []
    for j, value in enumerate(ids):
        g, p = gold[:, j].astype(bool), pred[:, j]
        row: dict[str, Any] = {"value": value, "support": int(g.sum()), "predicted": int(p.sum())}
        for name, among in (("precision", p), ("recall", g)):
            if among.any():
                share, lo, hi = wilson_interval(g[among] & p[among], level)
                row[name], row[f"{name}_ci"] = float(share), [float(lo), float(hi)]
            else:
                row[name], row[f"{name}_ci"] = None, None
        rows.append(row)
    return rows


def _agreement(variants: list[Variant], labels: dict[str, np.ndarray], ids: list[str], threshold: float) -> Any:
    """Cohen's κ of every pair of judges on the same variant and texts, on their labels thresholded after each
    judge's kept correction: per value and over every (text, value) cell. None with one judge."""
    import pandas as pd

    variants = [v for v in variants if not v.members]  # κ between the judges themselves
    judges = list(dict.fromkeys(v.judge for v in variants))
    if len(judges) < 2:
        return None
    rows = []
    by = {(v.judge, v.suffix): v.name for v in variants}
    for suffix in dict.fromkeys(v.suffix for v in variants):
        for i, a in enumerate(judges):
            for b in judges[i + 1:]:
                if (a, suffix) not in by or (b, suffix) not in by:
                    continue
                x = (labels[by[(a, suffix)]] >= threshold).astype(float)
                y = (labels[by[(b, suffix)]] >= threshold).astype(float)
                x[np.isnan(labels[by[(a, suffix)]])] = np.nan
                y[np.isnan(labels[by[(b, suffix)]])] = np.nan
                for j, d in enumerate([*ids, "all values"]):
                    col = slice(None) if j == len(ids) else j
                    rows.append({"variant": suffix, "judge_a": a, "judge_b": b, "value": d,
                                 **binary_agreement(x[:, col].ravel(), y[:, col].ravel())})
    return pd.DataFrame(rows)


def _chart(report: dict[str, Any], path: Path) -> None:
    """Reliability diagrams: per variant, the raw P(yes) and the kept correction's against the share expressed."""
    from ..charts import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(report), figsize=(4.2 * len(report), 4.0), squeeze=False)
    for ax, (name, r) in zip(axes[0], report.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        for cond, color in dict.fromkeys([("raw", "#e76f51"), (r["kept"], "#2a9d8f")]):
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


def _page(judge: str, summary: Any, per_value: Any, ids: list[str], held_out: int, path: Path,
          agreement: Any = None, external: bool = False) -> None:
    """A standalone page: the summary table (each figure with its interval), per-value F1 of each variant's kept
    condition, the judges' agreement, the diagram."""
    def table(frame: Any) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(f'{v:.3f}' if isinstance(v, float) else str(v))}</td>"
                                        for v in row) + "</tr>" for row in frame.itertuples(index=False))
        return f"<table><tr>{head}</tr>{body}</table>"

    kept = summary[summary.kept][["variant", "condition"]].itertuples(index=False)
    rows = [per_value[(per_value.variant == v) & (per_value.condition == c)] for v, c in kept]
    import pandas as pd

    values = pd.concat(rows)[["variant", "condition", "value", "precision", "recall", "f1", "support", "threshold"]]
    shown = summary.copy()
    for m in METRICS:
        shown[m] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) and np.isfinite(hi) else f"{v:.3f}"
                    for v, lo, hi in zip(shown[m], shown[f"{m}_lo"], shown[f"{m}_hi"], strict=True)]
    shown = shown.drop(columns=[f"{m}_{e}" for m in METRICS for e in ("lo", "hi")])
    how = (f"A saved calibration applied unchanged to all {held_out} texts (nothing learned on them)." if external else
           f"Every figure is on the held-out half ({held_out} texts); corrections were learned on the other half. A "
           "correction is kept only when it raised held-out macro F1 without worsening top-1 or the gold value's "
           "rank beyond the raw figures' intervals.")
    agree = "" if agreement is None else f"<h2>Agreement between judges (Cohen's κ)</h2>{table(agreement)}"
    path.write_text(f"""<!doctype html><meta charset="utf-8"><title>judge-check: {html.escape(judge)}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style>
<h1>Judge check: {html.escape(judge)}</h1>
<p>{html.escape(how)} Intervals: 95% over texts (BCa bootstrap for precision, recall and F1; Wilson for top-1 and top-3, logit t for the mean rank); ECE has none (it is biased upwards).</p>
<h2>Summary</h2>{table(shown)}
<h2>Per value (kept condition)</h2>{table(values)}{agree}
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
