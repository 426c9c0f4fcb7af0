"""Judge calibration (pure maths + its file): what `adaem judge-check` learns and `evaluation.calibration` applies.

Corrections of a judge's P(yes), each kept only where it helped on held-out labelled texts:
- contextual calibration (Zhao et al. 2021): the judge's P(yes) on content-free texts ("N/A", "", "[MASK]") is its
  prior for that value; dividing it out, p' = (p/c) / (p/c + (1−p)/(1−c)), removes a bias towards yes or no;
- a threshold per value (or one for every value): the one that maximised F1 on the training half is mapped onto
  the run's threshold by a monotone piecewise-linear rescale, so every later step (rates, TrueSkill matches, S) reads
  labels as before;
- corrections that read a text's whole vector, which keep what a small judge knows best, the *order* of a text's
  values (issue 37: the embedded judge says yes to almost everything, yet its most probable value is the gold one on
  85–92% of texts): a *relative* threshold, a value expressed when its P(yes) is within δ of the text's highest and
  above a floor; a *logistic* model (one per value, scikit-learn's L2 logistic regression) over the standardised
  log-odds of all the text's values; an *isotonic* map per value of its log-odds standardised within the text. Their
  parameters are stored as numbers and applied with numpy (scikit-learn is needed only to learn them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig

CONTENT_FREE = ("N/A", "", "[MASK]")


def contextual(p: float, prior: float) -> float:
    """P(yes) with the content-free prior divided out (prior 0.5 changes nothing)."""
    prior = min(max(prior, 1e-4), 1 - 1e-4)
    yes, no = p / prior, (1 - p) / (1 - prior)
    return yes / (yes + no) if yes + no > 0 else 0.5


def rescale(p: float, threshold: float, target: float) -> float:
    """Monotone map of [0, 1] onto itself that sends `threshold` to `target`: a label at or above a value's own
    threshold reads as expressed under the run's threshold, and the order of labels is kept."""
    if p <= threshold:
        return target * p / threshold if threshold > 0 else target
    return target + (1 - target) * (p - threshold) / (1 - threshold) if threshold < 1 else 1.0


def correct(p: float, prior: float | None, threshold: float | None, target: float) -> float:
    """One label with the corrections given: the prior divided out first, then the threshold mapped onto `target`."""
    if prior is not None:
        p = contextual(p, prior)
    if threshold is not None:
        p = rescale(p, threshold, target)
    return p


def best_threshold(gold: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """The threshold on P(yes) with the highest F1 (ties: the one nearest 0.5), and that F1. Candidates are the
    midpoints between sorted distinct probabilities, so the choice does not depend on a grid."""
    keep = ~np.isnan(prob)
    gold, prob = gold[keep].astype(bool), prob[keep]
    values = np.unique(prob)
    candidates = np.concatenate([[0.5], (values[:-1] + values[1:]) / 2]) if len(values) > 1 else np.array([0.5])
    best = (0.5, -1.0)
    for t in candidates:
        f1 = f1_score(gold, prob >= t)
        if f1 > best[1] + 1e-12 or (abs(f1 - best[1]) <= 1e-12 and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (float(t), f1)
    return best


def f1_score(gold: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(gold & pred))
    denominator = float(np.sum(gold) + np.sum(pred))
    return 2 * tp / denominator if denominator else 0.0


@dataclass
class Calibration:
    """What a judge-check learned for one (judge, theory, protocol, per-value prompt); an empty part is not applied.
    `quality`: the held-out figures (with intervals) of the judge with this correction, which a report shows
    beside the profiles it labelled."""

    judge: str
    theory: str
    protocol: str
    prompt: str = "one-definition"
    priors: dict[str, float] = field(default_factory=dict)  # contextual calibration: P(yes) on content-free text
    thresholds: dict[str, float] = field(default_factory=dict)  # per value, on the (calibrated) P(yes)
    notes: str = ""
    quality: dict[str, Any] = field(default_factory=dict)
    # the kind of text it was learned on: "opinion" (one opinion or a question, a sentence or two) or "answer" (a
    # whole answer of several points). A judge's P(yes) depends on it: thresholds learned on crisp one-sentence
    # opinions silence the judge on whole answers (issue 25's demo), so `auto` matches it to the run's unit.
    unit: str = "opinion"
    relative: dict[str, float] = field(default_factory=dict)  # {"delta": δ, "floor": f}: the text's own threshold
    model: dict[str, Any] = field(default_factory=dict)  # {"kind": logistic | isotonic, ...}: read the whole vector

    def apply(self, values: dict[str, float], target: float) -> dict[str, float]:
        """One text's labels corrected. A vector correction reads every value the text has (a value the judge could
        not label stays missing, and the logistic model takes it at its training mean)."""
        if self.model or self.relative:
            ids = list(values)
            out = self.apply_array(np.array([[values[d] for d in ids]], dtype=float), ids, target)[0]
            return dict(zip(ids, map(float, out), strict=True))
        return {dim: correct(p, self.priors.get(dim), self.thresholds.get(dim), target) for dim, p in values.items()}

    def apply_array(self, prob: np.ndarray, ids: list[str], target: float) -> np.ndarray:
        """Texts × values of P(yes) (NaN = no label) corrected, each row a text: the prior divided out, then a
        vector correction (model or relative threshold), then per-value thresholds mapped onto `target`."""
        p = np.array(prob, dtype=float)
        if self.priors:
            priors = [self.priors.get(d) for d in ids]
            for j, prior in enumerate(priors):
                if prior is not None:
                    p[:, j] = [contextual(x, prior) if not np.isnan(x) else np.nan for x in p[:, j]]
        if self.model:
            p = model_probabilities(self.model, p, ids)
        if self.relative:
            p = relative_rescale(p, self.relative["delta"], self.relative.get("floor", 0.0), target)
        if self.thresholds:
            for j, d in enumerate(ids):
                t = self.thresholds.get(d)
                if t is not None:
                    p[:, j] = [rescale(x, t, target) if not np.isnan(x) else np.nan for x in p[:, j]]
        return p

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))


def log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(q / (1 - q))


def within_text(p: np.ndarray) -> np.ndarray:
    """Each text's log-odds standardised over its own labelled values (mean 0, SD 1; a flat text is all 0)."""
    z = log_odds(p)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isnan(p), np.nan, z), axis=1, keepdims=True)
        sd = np.nanstd(np.where(np.isnan(p), np.nan, z), axis=1, keepdims=True)
    return np.where(np.isnan(p), np.nan, (z - mean) / np.where(sd > 1e-9, sd, 1.0))


def model_probabilities(model: dict[str, Any], p: np.ndarray, ids: list[str]) -> np.ndarray:
    """A learned model's P(expressed) per value from a texts × values array of the judge's P(yes).

    logistic: sigmoid(b_v + w_v · x) with x the text's log-odds, standardised by the training mean and scale (a
    missing value at its mean, i.e. 0); isotonic: per value, a monotone piecewise-linear map of the value's log-odds
    standardised within its text (values it was not learned for: the pooled map, if the file has one). Values the
    model was not learned for are otherwise left as they are."""
    order = list(model["ids"])
    cols = [ids.index(d) if d in ids else -1 for d in order]
    out = np.array(p, dtype=float)
    if model["kind"] == "logistic":
        inputs = list(model["inputs"])
        x = np.zeros((len(p), len(inputs)))
        for k, d in enumerate(inputs):
            if d in ids:
                c = ids.index(d)
                z = (log_odds(p[:, c]) - model["mean"][k]) / model["scale"][k]
                x[:, k] = np.where(np.isnan(p[:, c]), 0.0, z)
        logits = x @ np.asarray(model["coef"], float).reshape(len(order), len(inputs)).T \
            + np.asarray(model["intercept"], float)
        probs = 1 / (1 + np.exp(-logits))
        for k, c in enumerate(cols):
            if c >= 0:
                out[:, c] = np.where(np.isnan(p[:, c]), np.nan, probs[:, k])
    elif model["kind"] == "isotonic":
        z = within_text(p)
        for k, c in enumerate(cols):
            if c >= 0:
                xs, ys = model["knots"][k]
                out[:, c] = np.where(np.isnan(p[:, c]), np.nan, np.interp(z[:, c], xs, ys))
        if model.get("pooled"):  # values unseen (or always seen) in training: the map of all values together
            xs, ys = model["pooled"]
            for c, d in enumerate(ids):
                if d not in order:
                    out[:, c] = np.where(np.isnan(p[:, c]), np.nan, np.interp(z[:, c], xs, ys))
    else:
        raise ConfigError(f"evaluation.calibration: unknown model kind {model['kind']!r}")
    return out


def relative_rescale(p: np.ndarray, delta: float, floor: float, target: float) -> np.ndarray:
    """The relative threshold: each text's own threshold is max(sigmoid(logit(its highest P(yes)) − δ), floor), δ in
    log-odds; a value at or above it is expressed. Mapped onto `target` by `rescale`, so the order of a text's values
    is kept."""
    out = np.array(p, dtype=float)
    top = np.max(np.where(np.isnan(p), -np.inf, log_odds(np.nan_to_num(p, nan=0.5))), axis=1)
    for i, row in enumerate(p):
        t = min(max(1 / (1 + np.exp(-(top[i] - delta))), floor), 1.0 - 1e-9)
        out[i] = [rescale(x, t, target) if not np.isnan(x) else np.nan for x in row]
    return out


@cache
def read_calibration(path: str) -> Calibration:
    """A calibration file as written, unchecked against any run (cached); a missing or foreign file is a
    ConfigError naming evaluation.calibration."""
    try:
        data = json.loads(Path(path).read_text())
        return Calibration(**data)
    except FileNotFoundError:
        raise ConfigError(f"evaluation.calibration: no such file {path}") from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise ConfigError(f"evaluation.calibration: {path} is not a calibration file written by `adaem judge-check` "
                          f"({str(exc).splitlines()[0][:100]})") from None


SHIPPED = "data/calibration"


@cache
def shipped_calibrations() -> dict[tuple[str, ...], str]:
    """The calibrations adaem ships (learned by judge-check on the shipped labelled sets for its embedded judge),
    by (judge, theory, protocol, prompt, unit)."""
    from importlib import resources

    folder = resources.files("adaem").joinpath(SHIPPED)
    out = {}
    for entry in folder.iterdir() if folder.is_dir() else []:
        if entry.name.endswith(".json"):
            cal = read_calibration(str(entry))
            out[_key(cal.judge, cal.theory, cal.protocol, cal.prompt, cal.unit)] = str(entry)
    return out


def _key(judge: str, theory: str, protocol: str, prompt: str, unit: str = "opinion") -> tuple[str, ...]:
    """What a calibration is learned for: the per-value prompt matters only to the per-value protocol (a joint
    judge-check records "one-definition"); the unit is the kind of text."""
    return judge, theory, protocol, prompt if protocol == "per-value" else "one-definition", unit


def calibration_file(setting: str | Path | None, judge: str, theory: str, protocol: str,
                     prompt: str = "one-definition", unit: str = "opinion") -> str | None:
    """The calibration file that applies: `auto` (the default) is the one adaem ships for this judge, theory,
    protocol, prompt and kind of text (`unit`: "answer" for a whole answer, "opinion" for one opinion or a
    question), if any; `none` (or None) is no correction; anything else is a file path (applied to every text)."""
    if setting is None or str(setting).lower() == "none":
        return None
    if str(setting).lower() == "auto":
        return shipped_calibrations().get(_key(judge, theory, protocol, prompt, unit))
    return str(setting)


def check_calibration(config: RunConfig, theory: str) -> None:
    """A run's calibration file readable and learned for its judge, theory, protocol and prompt: said before any
    call."""
    ev = config.evaluation
    path = calibration_file(ev.calibration, config.roles.judge, theory, ev.protocol, ev.judge_prompt, ev.unit)
    if path:
        load_calibration(path, config.roles.judge, theory, ev.protocol, ev.judge_prompt)


def load_calibration(path: str | Path, judge: str, theory: str, protocol: str,
                     prompt: str = "one-definition") -> Calibration:
    """The calibration in `path`, refused unless it was learned for this judge, theory, protocol and prompt."""
    cal = read_calibration(str(path))
    learned = (cal.judge, cal.theory, cal.protocol, cal.prompt if protocol == "per-value" else prompt)
    wanted = (judge, theory, protocol, prompt)
    if learned != wanted:
        raise ConfigError(f"evaluation.calibration: {path} was learned for judge {cal.judge}, theory {cal.theory}, "
                          f"protocol {cal.protocol}, prompt {cal.prompt}; this run uses {judge}, {theory}, {protocol}, "
                          f"{prompt}")
    return cal


def judge_quality(config: RunConfig, theory: str, endpoint_facts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Which judge, protocol, prompt and calibration labelled a run, and that judge's measured quality: the figures
    of the latest judge-check that matches it (the run named by evaluation.judge_check, else those the applied
    calibration file carries, else those the shipped calibration for this judge measured raw); `validated` False
    (with the command to run) when none matches. `endpoint_facts` (what the run asked its endpoints): a judge
    whose server returned no log-probabilities gave 0/1 labels, said so. Shown beside the profiles in scores.json
    and the report."""
    ev = config.evaluation
    judge = config.roles.judge
    path = calibration_file(ev.calibration, judge, theory, ev.protocol, ev.judge_prompt, ev.unit)
    shipped = shipped_calibrations().get(_key(judge, theory, ev.protocol, ev.judge_prompt, ev.unit))
    cal = read_calibration(path) if path else None
    condition = _condition(cal)
    out: dict[str, Any] = {
        "judge": judge, "theory": theory, "protocol": ev.protocol,
        "prompt": ev.judge_prompt if ev.protocol == "per-value" else None, "unit": ev.unit, "merge": ev.merge,
        "threshold": ev.threshold, "calibration": path or "none",
        "calibration_source": "none" if path is None else "shipped" if path == shipped else "file",
        "calibration_unit": cal.unit if cal is not None else None,
        "correction": condition, "quality": None, "quality_source": None}
    checked = _judge_check_figures(ev.judge_check, judge, theory, ev.protocol, ev.judge_prompt, condition) \
        if ev.judge_check else None
    if checked is not None:
        out["quality"], out["quality_source"] = checked, str(ev.judge_check)
    elif cal is not None and cal.quality.get("figures", {}).get(condition):
        out["quality"], out["quality_source"] = cal.quality["figures"][condition], path
    elif shipped is not None and path is None and read_calibration(shipped).quality.get("figures", {}).get("raw"):
        out["quality"], out["quality_source"] = read_calibration(shipped).quality["figures"]["raw"], shipped
    out["validated"] = out["quality"] is not None
    from .theories import load_theory

    out["value_names"] = [[d.id, d.name] for d in load_theory(ev.theory).dimensions]  # a name or a file
    asked = next((f for f in endpoint_facts or [] if f.get("model") == judge), None)
    if asked is not None and asked.get("logprobs") is False:
        out["labels_from"] = "text"
        out["logprobs_note"] = (f"{judge}'s server returned no log-probabilities ({asked.get('probe')}): its labels "
                                "are 0/1 read from the answer text, so no calibration of P(yes) applies")
    if not out["validated"]:
        texts = ("--unit answer --labels YOUR_LABELLED_ANSWERS.jsonl" if ev.unit == "answer"
                 else "--labels YOUR_LABELLED_TEXTS.jsonl (default: the set shipped for the theory)")
        out["note"] = (f"judge {judge} is unvalidated for {theory} / {ev.protocol} / {ev.unit}s: measure it with "
                       f"`adaem judge-check --judge {judge} --theory {theory} --protocol {ev.protocol} {texts}` "
                       f"and name the run in evaluation.judge_check")
    return out


def _condition(cal: Calibration | None) -> str:
    """The judge-check condition a calibration file stands for."""
    if cal is None:
        return "raw"
    kept = cal.quality.get("kept")
    if kept:
        return str(kept)
    if cal.priors and cal.thresholds:
        return "contextual+thresholds"
    if cal.priors:
        return "contextual"
    return "thresholds" if cal.thresholds else "raw"


def _judge_check_figures(run: str | Path, judge: str, theory: str, protocol: str, prompt: str,
                         condition: str) -> dict[str, Any] | None:
    """A judge-check run's held-out figures (with intervals) for this judge, theory, protocol, prompt and
    condition, or None when it has none."""
    path = Path(run) / "judge_check.json"
    if not path.exists():
        raise ConfigError(f"evaluation.judge_check: {run} holds no finished judge check (no judge_check.json)")
    data = json.loads(path.read_text())
    for report in data.get("variants", {}).values():
        same = (report.get("judge", data.get("judge")), report.get("theory"), report.get("protocol"),
                report.get("prompt", "one-definition"))
        if same == _key(judge, theory, protocol, prompt)[:4] and condition in report.get("conditions", {}):
            r, ci = report["conditions"][condition], report.get("intervals", {}).get(condition, {})
            return {"condition": condition, "texts": data.get("test"), "labels": data.get("labels", ""),
                    **{m: r.get(m) for m in ("macro_precision", "macro_recall", "macro_f1", "top1", "top3",
                                             "mean_rank", "ece")},
                    **{f"{m}_ci": list(v) for m, v in ci.items() if all(x == x for x in v)},  # ECE's is NaN: none
                    **({"per_value": report["per_value"][condition]} if condition in report.get("per_value", {})
                       else {})}
    return None
