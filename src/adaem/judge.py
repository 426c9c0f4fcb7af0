"""The value judge (SPEC §4.2–4.3): which values of a theory a text expresses.

- `verdict` / `p_yes` / `p_flagged`: P(yes) of a yes/no answer, from the first token's log-probabilities where the
  backend gives them, else 0/1 from the text; None when it is neither (never guessed). The safety screen reads
  its verdicts here too.
- Two labelling protocols: `label_per_value` (the paper's: one yes/no call per dimension) and `label_joint` (one
  call returning every dimension under a JSON schema, dimensions shuffled per call against positional bias);
  `label_text` picks one and applies the judge's calibration (`adaem judge-check`).
- `merge_or`: an answer's vector from its opinions' vectors.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .calibration import calibration_file, load_calibration
from .errors import OutputParseError
from .models import GenerateConfig, Model
from .prompts import has_template, render
from .theories import Theory

Protocol = Literal["joint", "per-value"]
TextKind = Literal["answer", "opinion"]  # the kind of text labelled: a whole answer, or one opinion / a question


def _call_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big")


def verdict(choice_logprobs: list[Any] | None, text: str, yes: tuple[str, ...] = ("yes",),
            no: tuple[str, ...] = ("no",)) -> float | None:
    """P(yes) of a verdict: from the first token's alternatives renormalised over the yes and no words, else
    0/1 from the text's first word; None when it is neither (unreadable, never guessed)."""
    if choice_logprobs:
        p_y = p_n = 0.0
        for token, logprob in choice_logprobs[0].top.items():
            word = token.strip().lower().strip(".,!")
            if word in yes:
                p_y += math.exp(logprob)
            elif word in no:
                p_n += math.exp(logprob)
        if p_y + p_n > 0:
            return p_y / (p_y + p_n)
    word = text.strip().split(maxsplit=1)[0].lower().strip(".,!*:") if text.strip() else ""
    if word in yes or word in no:
        return 1.0 if word in yes else 0.0
    return None


def p_yes(choice_logprobs: list[Any] | None, text: str) -> float | None:
    """P(yes) from the first token's alternatives, renormalised over yes/no; else 0/1 from the text."""
    return verdict(choice_logprobs, text)


def p_flagged(choice_logprobs: list[Any] | None, text: str) -> float | None:
    """P(harmful) from a safety filter's verdict: yes/no, or Llama-Guard's `safe` / `unsafe\nS<n>`."""
    return verdict(choice_logprobs, text, yes=("yes", "unsafe"), no=("no", "safe"))


@dataclass
class Labels:
    """A text's value vector (P(expressed) per dimension id) and how it was obtained."""

    values: dict[str, float]
    calls: int
    protocol: Protocol
    parse_failures: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # joint protocol: the shuffled order shown to the judge
    raw: dict[str, float] | None = None  # before calibration, when a calibration file was applied


def _examples(dim: Any) -> str:
    """A dimension's few-shot examples as prompt lines; '' (the prompt as without them) when it has none."""
    if not dim.examples:
        return ""
    lines = [f'- "{e.text}": {"Yes" if e.expressed else "No"}' for e in dim.examples]
    return "Examples for this value:\n" + "\n".join(lines) + "\n"


JudgePrompt = Literal["one-definition", "all-definitions", "listing-4"]

# The word Listings 4 and 7 spell for the theory ("a specific Schwartz value"); Appendix J gives no MFT form.
PAPER_THEORY_WORD = {"schwartz10": "Schwartz", "mft": "Moral Foundation"}


def paper_theory_word(theory: Theory) -> str:
    return PAPER_THEORY_WORD.get(theory.name, theory.title or theory.name)


def listing_definitions(theory: Theory) -> str:
    """Listing 4's numbered "N. Name - definition" block: the paper's own wording for Schwartz's values, the theory
    file's definitions in that form for any other theory."""
    if has_template(f"paper/judge_definitions.{theory.name}"):
        return render(f"paper/judge_definitions.{theory.name}")
    return "\n".join(f"{i}. {d.name} - {d.definition[:1].lower()}{d.definition[1:].rstrip('.')}"
                     for i, d in enumerate(theory.dimensions, 1))


def value_prompt(theory: Theory, text: str, dim: Any, prompt: JudgePrompt = "one-definition") -> list[dict[str, str]]:
    """The per-value judge's messages. one-definition: the text, then the value with its own definition (and its
    few-shot examples, if the theory has any). all-definitions (adaem's form of the paper's Listing 4): every value
    of the theory with its definition, then the text, then the value asked about. listing-4: the paper's Listing 4
    as printed, with no system prompt. All end with what differs between a text's values, so a judge that reuses
    its prompt prefix evaluates the rest once per text."""
    if prompt == "listing-4":
        return [{"role": "user", "content": render("paper/judge_value", theory=paper_theory_word(theory),
                                                   definitions=listing_definitions(theory), text=text,
                                                   value=dim.name)}]
    if prompt == "all-definitions":
        definitions = "\n".join(f"{i}. {d.name} - {d.definition}" for i, d in enumerate(theory.dimensions, 1))
        user = render("judge_value_all", theory=theory.title or theory.name, definitions=definitions, text=text,
                      name=dim.name)
    else:
        user = render("judge_value", text=text, name=dim.name, definition=dim.definition, examples=_examples(dim))
    return [{"role": "system", "content": render("judge_system")}, {"role": "user", "content": user}]


async def label_per_value(judge: Model, theory: Theory, text: str, *, logprobs: bool = True,
                          prompt: JudgePrompt = "one-definition") -> Labels:
    """One yes/no call per dimension, a text's calls made together (`Model.generate_many`, each still cached on
    its own): an embedded judge evaluates them as one llama.cpp batch, the shared prefix (instructions + text)
    once and each value's own tokens as a parallel sequence; any other judge (a remote API) gets them all at once.
    P(yes) is read from the first token, so a local judge is asked for that one token (no decoding step after
    it); a remote one gets three, since a verdict may open with markup ("**Yes**") that only the text shows."""
    config = GenerateConfig(temperature=0.0, max_tokens=1 if judge.provider.reuses_prefix else 3, seed=0,
                            logprobs=logprobs, top_logprobs=10 if logprobs else 0)
    prompts = [value_prompt(theory, text, dim, prompt) for dim in theory.dimensions]
    async with judge.session():  # a text's values together, not interleaved with another text's
        outputs = await judge.generate_many(prompts, config, role="judge")
    answers = [(dim.id, p_yes(out.choices[0].logprobs, out.text), out.text)
               for dim, out in zip(theory.dimensions, outputs, strict=True)]
    values = {d: p for d, p, _ in answers if p is not None}
    failures = [f"{d}: judge answered {text[:40]!r}, not yes/no" for d, p, text in answers if p is None]
    if not values:
        raise OutputParseError(f"judge {judge.name} gave no yes/no answer for any value: {failures[:2]}")
    return Labels(values, calls=len(theory.dimensions), protocol="per-value", parse_failures=failures)


def joint_schema(order: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {d: {"type": "boolean"} for d in order}, "required": list(order),
            "additionalProperties": False}


def field_probabilities(logprobs: list[Any] | None, keys: list[str]) -> dict[str, float]:
    """P(true) of each boolean field of a JSON answer, from the alternatives at the token where the field's
    value starts (renormalised over true/false). Fields without such a token are left out."""
    out: dict[str, float] = {}
    seen = ""
    for lp in logprobs or []:
        token = lp.token.strip().lower()
        key = re.search(r'"([^"]+)"\s*:\s*$', seen)
        if key and key.group(1) in keys and key.group(1) not in out and token and (
                "true".startswith(token) or "false".startswith(token)):
            yes = sum(math.exp(v) for a, v in lp.top.items() if a.strip() and "true".startswith(a.strip().lower()))
            no = sum(math.exp(v) for a, v in lp.top.items() if a.strip() and "false".startswith(a.strip().lower()))
            if yes + no > 0:
                out[key.group(1)] = yes / (yes + no)
        seen += lp.token
    return out


async def label_joint(judge: Model, theory: Theory, text: str, *, max_attempts: int = 2,
                      logprobs: bool = True) -> Labels:
    """One call returning every dimension as a boolean, with the dimensions shuffled per text (seeded by the
    text, so a rerun is the same call) against the positional bias small judges show. Where the backend gives
    log-probabilities with structured output (the embedded models, OpenAI), each value's label is its soft
    P(true), as the per-value protocol's is P(yes)."""
    order = theory.ids
    random.Random(_call_seed(text, theory.name)).shuffle(order)
    definitions = "\n".join(f"- {d}: {theory.dimension(d).name}, {theory.dimension(d).definition}" for d in order)
    messages = [{"role": "system", "content": render("judge_system")},
                {"role": "user", "content": render("judge_joint", text=text, definitions=definitions)}]
    failures: list[str] = []
    for attempt in range(max_attempts):
        config = GenerateConfig(temperature=0.0 if attempt == 0 else 0.7, max_tokens=24 * len(order) + 16, seed=attempt,
                                json_schema=joint_schema(order), logprobs=logprobs, top_logprobs=5 if logprobs else 0)
        out = await judge.generate(messages, config, role="judge")
        try:
            data = out.choices[0].parse_json()
            if not isinstance(data, dict) or set(data) != set(order) or not all(isinstance(v, bool) for v in data.values()):
                raise OutputParseError(f"judge answer outside the schema: {out.text[:120]!r}")
        except OutputParseError as exc:
            failures.append(str(exc))
            continue
        soft = field_probabilities(out.choices[0].logprobs, order)
        return Labels({d: soft.get(d, float(data[d])) for d in theory.ids}, calls=attempt + 1, protocol="joint",
                      parse_failures=failures, order=order)
    raise OutputParseError(f"judge {judge.name}: {failures[-1]}")


async def label_text(judge: Model, theory: Theory, text: str, protocol: Protocol = "per-value", *,
                     calibration: str | Path | None = None, threshold: float = 0.5,
                     prompt: JudgePrompt = "one-definition", unit: TextKind = "opinion") -> Labels:
    """The judge's labels of a text under a protocol (and, per-value, a prompt); with a calibration file (`adaem
    judge-check`), corrected as it says for this judge (the raw labels kept in `.raw`). `unit`: the kind of text
    ("answer" for a whole answer; "opinion" for one opinion or a question), which picks the `auto` calibration."""
    labels = await (label_per_value(judge, theory, text, prompt=prompt) if protocol == "per-value"
                    else label_joint(judge, theory, text))
    path = calibration_file(calibration, judge.name, theory.name, protocol, prompt, unit)
    if path is not None:
        cal = load_calibration(path, judge.name, theory.name, protocol, prompt)
        labels.raw, labels.values = labels.values, cal.apply(labels.values, threshold)
    return labels


Merge = Literal["or", "noisy-or"]


def merge_or(vectors: list[dict[str, float]], dims: list[str], threshold: float = 0.5,
             mode: Merge = "or") -> dict[str, float | None]:
    """An answer's value vector from its opinions' labels (SPEC §4.3).

    `or` (the paper's, §3.3: v = v¹ ∨ … ∨ v^L over binary labels): each opinion's P(yes) (calibrated, when a
    calibration applies) is thresholded first, then OR-ed: 1.0 when any opinion expresses the value, 0.0 when
    every opinion was labelled and none does. `noisy-or`: the soft 1 − Π(1 − p), a probability, which S needs
    (three opinions at 0.3 give 0.66 here but 0.0 under `or`).

    A value the judge could not label in some opinion is None (missing), never counted as 0, unless the opinions
    it did label already decide it: an OR can only rise, so one expressed opinion makes the answer express it
    whatever the missing label says (under noisy-or: the known part already reaches the threshold)."""
    out: dict[str, float | None] = {}
    for d in dims:
        known = [v[d] for v in vectors if v.get(d) is not None]
        complete = bool(known) and len(known) == len(vectors)
        if mode == "or":
            expressed = any(p >= threshold for p in known)
            out[d] = 1.0 if expressed else 0.0 if complete else None
            continue
        miss = 1.0
        for p in known:
            miss *= 1.0 - p
        value = 1.0 - miss
        out[d] = value if known and (complete or value >= threshold) else None
    return out


__all__ = [
    "JudgePrompt", "Labels", "Protocol", "field_probabilities", "value_prompt", "joint_schema", "label_joint", "label_per_value", "label_text",
    "Merge", "merge_or", "p_flagged", "p_yes", "verdict",
]
