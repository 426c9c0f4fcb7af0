"""Question → opinions → value vectors (SPEC §4), the respondent's side. Shared by evaluate and generate.

- `elicit_opinion`: the model's stance and k key points. Free text is parsed by `parse_opinion`; models that
  cannot keep a format (the embedded ones) answer under a JSON schema instead. An answer with no points is a
  parse failure: retried with a new sample, then recorded, never guessed.
- `opinion_problem`: whether parsed points are an opinion at all (in words, on topic, no copies).
- `measure_answer`: elicit, have the judge (`judge.py`) label, merge.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from .config import Evaluation, OpinionRules
from .errors import ModelCallError, OutputParseError
from .judge import Labels, label_text, merge_or
from .languages import STANCE_LABELS, TEMPLATE_ECHOES, count_words, language_name, stance_of
from .models import GenerateConfig, Model
from .prompts import PromptSet, localized, render
from .theories import Theory

Stance = Literal["yes", "no", "neutral"]
OpinionFormat = Literal["text", "json"]


@dataclass
class Point:
    point: str
    justification: str = ""

    @property
    def text(self) -> str:
        return f"{self.point}: {self.justification}" if self.justification else self.point


@dataclass
class Opinion:
    stance: Stance | None
    points: list[Point]
    raw: str = ""
    attempts: int = 1
    parse_failures: list[str] = field(default_factory=list)
    mean_logprob: float | None = None  # of the points' tokens given the question, where the backend gives them

    def as_record(self) -> dict[str, Any]:
        return {"stance": self.stance, "points": [asdict(p) for p in self.points], "raw": self.raw,
                "attempts": self.attempts, "parse_failures": self.parse_failures,
                **({"mean_logprob": self.mean_logprob} if self.mean_logprob is not None else {})}


# -- parsing free text ------------------------------------------------------------------------------------
_STANCE_LINE = re.compile(r"^\W*(?:my\s+)?(stance|answer|position|verdict|opinion)\s*\**\s*[:\-–]\s*(.*)$", re.I)
_ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[.)]|[-*•+]|(?:key\s+)?point\s*\d+\s*[:.)-])\s+(.*\S)\s*$", re.I)
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_TEMPLATE_ECHO = ("<key point>", "one-sentence justification", "<justification>", "exactly 3 key points",
                  *TEMPLATE_ECHOES)


def _is_echo(text: str) -> bool:
    """The prompt's own placeholders repeated back are not a point."""
    lowered = text.lower()
    return any(echo in lowered for echo in _TEMPLATE_ECHO)


def _plain(text: str) -> str:
    return _BOLD.sub(r"\2", text).replace("**", "").strip().strip("*_ ").strip()


def parse_stance(text: str) -> Stance | None:
    """An explicit stance line ("Stance: Yes", "立场：是", "Position : non"), else a leading Yes/No/Neutral.
    Ambiguous ("Yes, No or Neutral") is None."""
    for line in text.splitlines()[:6]:
        plain = _plain(line)
        match = _STANCE_LINE.match(plain) or _NATIVE_STANCE_LINE.match(plain)
        if match:
            return stance_of(match.group(2))  # type: ignore[return-value]
    first = _plain(text.lstrip()).split(maxsplit=1)
    if first:
        word = first[0].strip(".,:;!").lower()
        if word in ("yes", "no", "neutral"):
            return word  # type: ignore[return-value]
    return None


_NATIVE_STANCE_LINE = re.compile(
    rf"^\W*({'|'.join(re.escape(label) for label in STANCE_LABELS)})\s*\**\s*[:：\-–]\s*(.*)$", re.I)



def _split_point(item: str) -> Point:
    """'**Title**: why' or 'Title - why' splits; a sentence without a short title stays whole."""
    bold = re.match(r"^\s*(\*\*|__)(.+?)\1\s*[:.\-–—]?\s*(.*)$", item)
    if bold and bold.group(2).strip():
        return Point(_plain(bold.group(2)).rstrip(":."), _plain(bold.group(3)))
    text = _plain(item)
    match = re.match(r"^(.{2,90}?)\s*(?:[:：]|\s[-–—]\s)\s*(.+)$", text)
    if match and count_words(match.group(1)) <= 12:
        return Point(match.group(1).strip(), match.group(2).strip())
    return Point(text)


def parse_points(text: str, k: int) -> list[Point]:
    """Items of the first list(s) in the text: numbered, bulleted or 'Point N:'; continuation lines are joined.
    Template echoes and stance lines are not points. At most k are kept."""
    items: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match:
            if current is not None:
                items.append(current)
            current = match.group(1)
        elif current is not None and line.strip() and (line.startswith((" ", "\t")) or not line[:1].isupper()):
            current += " " + line.strip()
        elif current is not None:
            items.append(current)
            current = None
    if current is not None:
        items.append(current)
    points = []
    for item in items:
        if _is_echo(item) or _STANCE_LINE.match(_plain(item)):
            continue
        point = _split_point(item)
        if count_words(point.text) < 3:
            continue
        points.append(point)
    return points[:k]


def parse_opinion(text: str, k: int = 3) -> Opinion:
    """Stance and up to k points from free text; OutputParseError when no point can be found."""
    points = parse_points(text, k)
    if not points:
        raise OutputParseError(f"no key points found in the answer: {text.strip()[:100]!r}")
    return Opinion(stance=parse_stance(text), points=points, raw=text)


def opinion_schema(k: int) -> dict[str, Any]:
    """The JSON form of an opinion for backends that answer under a grammar. No string has a maxLength: a grammar
    that caps a string cuts it mid-word ("…but rather ont"), and the judge would label the stump. The prompt asks
    for short points; `opinion_problem` checks the length afterwards, and an answer that runs out of tokens is
    invalid JSON, a parse failure that is re-asked."""
    point = {"type": "object", "properties": {"point": {"type": "string"}, "justification": {"type": "string"}},
             "required": ["point", "justification"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"stance": {"type": "string", "enum": ["yes", "no", "neutral"]},
                           "points": {"type": "array", "items": point, "minItems": k, "maxItems": k}},
            "required": ["stance", "points"], "additionalProperties": False}


def parse_opinion_json(text: str, k: int) -> Opinion:
    try:
        import json

        data = json.loads(text)
        points = [Point(str(p["point"]).strip(), str(p.get("justification", "")).strip()) for p in data["points"]]
        stance = data.get("stance")
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputParseError(f"opinion JSON does not have the asked form ({exc}): {text[:100]!r}") from None
    points = [p for p in points if count_words(p.text) >= 3 and not _is_echo(p.text)][:k]
    if not points:
        raise OutputParseError(f"opinion JSON holds no usable points: {text[:100]!r}")
    return Opinion(stance=stance if stance in ("yes", "no", "neutral") else None, points=points, raw=text)


# -- is it an opinion? ---------------------------------------------------------------------------------------
async def embed(encoder: Any, texts: list[str]) -> np.ndarray:
    """Sentence embeddings without blocking the event loop (the encoder's own worker thread if it has one)."""
    if hasattr(encoder, "aencode"):
        return await encoder.aencode(texts)
    return await asyncio.to_thread(encoder.encode, texts)


_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters, any script
_LONG_WORD = 6  # shorter words (acronyms, names, "ok") are not judged by the vocabulary


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def opinion_problem(opinion: Opinion, question: str, rules: OpinionRules, encoder: Any,
                    vectors: np.ndarray | None = None, language: str = "en", allowed_words: int | None = None) -> str | None:
    """Why an answer's points are not an opinion, or None when they are (SPEC §5 Decision). Every point must be
    in words (enough tokens with letters; enough of its longer Latin-script words known to the embedding
    model, so "enlaxa dezrecioni" is not), about the question (cosine to it at least `min_topic_similarity`),
    and neither a copy of another point nor of the question. `encoder` is the sentence-embedding model of
    opinion difference (all-MiniLM-L6-v2). That model is English-only: in another `language` an answer is checked
    for form (enough words, in words, not a copy) and not for vocabulary or topic. `allowed_words`: what the prompt allowed
    (an answer far beyond it is too long; no grammar truncates it)."""
    english = language == "en"
    if allowed_words and rules.max_length_ratio:
        total = sum(count_words(p.text) for p in opinion.points)
        if total > rules.max_length_ratio * allowed_words:
            return f"answer too long ({total:g} words; the prompt allows {allowed_words})"
    known_word: Callable[[str], bool] | None = getattr(encoder, "known_word", None) if english else None
    texts = [p.text for p in opinion.points]
    for i, text in enumerate(texts, 1):
        tokens = text.split()
        shown = text[:60]
        words_in = count_words(text)
        if words_in < rules.min_words:
            return f"point {i} has {words_in:g} words (< {rules.min_words}): {shown!r}"
        words = [t for t in tokens if _WORD.search(t)]
        if len(words) / len(tokens) < rules.min_word_share:
            return f"point {i} is not in words ({len(words)} of {len(tokens)} tokens are words): {shown!r}"
        # runs of Latin letters, so "self-determination" and "isn't" are judged by their parts
        long = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) >= _LONG_WORD]
        if known_word and long:
            known = sum(map(known_word, long)) / len(long)
            if known < rules.min_known_share:
                return f"point {i} is not in words (only {known:.0%} of its longer words are words): {shown!r}"
        if _norm(text) == _norm(question):
            return f"point {i} repeats the question: {shown!r}"
    norms = [_norm(t) for t in texts]
    if len(set(norms)) < len(norms):
        return "two points are the same text"
    if not english:
        return None
    if vectors is None:
        vectors = encoder.encode([question, *texts])
    to_question = vectors[1:] @ vectors[0]
    for i, sim in enumerate(to_question, 1):
        if sim < rules.min_topic_similarity:
            return f"point {i} is off topic (similarity to the question {sim:.2f} < {rules.min_topic_similarity}): " \
                   f"{texts[i - 1][:60]!r}"
        if sim > rules.max_question_similarity:
            return f"point {i} copies the question (similarity {sim:.2f} > {rules.max_question_similarity})"
    between = vectors[1:] @ vectors[1:].T
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if between[i, j] > rules.max_point_similarity:
                return f"points {i + 1} and {j + 1} say the same (similarity {between[i, j]:.2f} > " \
                       f"{rules.max_point_similarity})"
    return None


def points_logprob(logprobs: list[Any] | None, opinion: Opinion) -> float | None:
    """Mean log-probability of the tokens that spell the opinion's points and justifications (not the stance,
    list markers or JSON keys around them): log p(y|x) per token, from the answer's own sampling. None when
    the backend gave no log-probabilities or no point could be found in the tokens."""
    if not logprobs:
        return None
    text, starts = "", []
    for lp in logprobs:
        starts.append(len(text))
        text += lp.token
    spans = []
    for p in opinion.points:
        for part in (p.point, p.justification):
            at = text.find(part) if part else -1
            if at >= 0:
                spans.append((at, at + len(part)))
    picked = [lp.logprob for lp, start in zip(logprobs, starts, strict=True)
              if any(a <= start < b for a, b in spans)]
    return float(np.mean(picked)) if picked else None


def default_format(model: Model) -> OpinionFormat:
    """Embedded models cannot keep a text format; they (and the mock) answer under a schema instead."""
    return "json" if model.provider.schema_opinions else "text"


def opinion_messages(question: str, *, k: int, words: int, system: str | None = None,
                     language: str = "en", prompts: PromptSet = "adaem") -> list[dict[str, str]]:
    """The opinion prompt in `language`: adaem's template in it where one ships (CJK ones count characters,
    `chars` = 2 × words), else the English one asking for the answer in the language. A `system` prompt given
    (priming) is used as it is. `prompts: paper`: Listing 3 as printed, with no system prompt (the paper gives
    none) unless priming gives one; `words` fills its "{length_num}"."""
    if prompts == "paper":
        prompt = render("paper/opinion", target_question=question, points_num=k, length_num=words)
        if language != "en":
            prompt += "\n" + render("opinion_language", language=language_name(language))
        return [*([{"role": "system", "content": system}] if system else []), {"role": "user", "content": prompt}]
    user = localized("opinion", language)
    prompt = render(user or "opinion", question=question, k=k, words=words, chars=2 * words)
    if user is None:
        prompt += "\n" + render("opinion_language", language=language_name(language))
    system_name = localized("opinion_system", language) or "opinion_system"
    return [{"role": "system", "content": system or render(system_name)}, {"role": "user", "content": prompt}]


async def elicit_opinion(
    model: Model,
    question: str,
    *,
    k: int = 3,
    words: int = 80,
    fmt: OpinionFormat | None = None,
    sampling: GenerateConfig | None = None,
    max_attempts: int = 3,
    system: str | None = None,
    role: str = "target",
    check: Callable[[Opinion], Awaitable[str | None]] | None = None,
    logprobs: bool = False,
    language: str = "en",
    prompts: PromptSet = "adaem",
    prompt_words: int | None = None,
    max_length_ratio: float = 4.0,
) -> Opinion:
    """The model's opinion; a parse failure, or an answer `check` finds is not an opinion, is retried with the
    next sample (a new cache key), and after max_attempts raises OutputParseError carrying every failure.
    With `logprobs`, the opinion keeps the mean log-probability of its points' tokens (coherence by
    likelihood) where the backend gives them."""
    fmt = fmt or default_format(model)
    base = sampling or GenerateConfig()
    # room for an answer up to the longest the opinion rules accept (max_length_ratio × the words asked for, at
    # ~1.4 tokens a word), plus JSON's keys and quotes: an answer that runs out of tokens is then too long anyway
    room = int(1.4 * max_length_ratio * words) + 64 + (0 if fmt == "text" else 30 * k)
    base = base.model_copy(update={"max_tokens": max(base.max_tokens, room),
                                   "json_schema": opinion_schema(k) if fmt == "json" else None,
                                   **({"logprobs": True} if logprobs else {})})
    messages = opinion_messages(question, k=k, words=prompt_words or words, system=system, language=language,
                                prompts=prompts)
    failures: list[str] = []
    for attempt in range(max_attempts):
        config = base.model_copy(update={"num_samples": attempt + 1})
        output = await model.generate(messages, config, role=role)
        choice = output.choices[attempt]
        try:
            opinion = parse_opinion_json(choice.text, k) if fmt == "json" else parse_opinion(choice.text, k)
        except OutputParseError as exc:
            failures.append(str(exc))
            continue
        problem = await check(opinion) if check else None
        if problem:
            failures.append(f"not an opinion: {problem}")
            continue
        if logprobs:
            opinion.mean_logprob = points_logprob(choice.logprobs, opinion)
        opinion.attempts = attempt + 1
        opinion.parse_failures = failures
        return opinion
    raise OutputParseError(f"{model.name}: {max_attempts} answers without usable key points; last: {failures[-1]}")


@dataclass
class Answer:
    """One model's measured answer to one question: opinion, labels per point, the merged vectors: `vector` as
    evaluation.merge says (the paper's OR of binary labels by default), `soft_vector` the noisy-OR probability
    that S uses."""

    opinion: Opinion
    point_labels: list[Labels]
    vector: dict[str, float | None]
    soft_vector: dict[str, float | None] = field(default_factory=dict)

    @property
    def judge_calls(self) -> int:
        return sum(lab.calls for lab in self.point_labels)

    @property
    def missing(self) -> int:
        """Values the judge could not label for this answer (they sit out, SPEC §5 Decision)."""
        return sum(v is None for v in self.vector.values())


async def measure_answer(
    model: Model,
    judge: Model,
    theory: Theory,
    question: str,
    settings: Evaluation | None = None,
    *,
    sampling: GenerateConfig | None = None,
    system: str | None = None,
    role: str = "target",
    encoder: Any = None,
    logprobs: bool = False,
    language: str = "en",
    prompts: PromptSet = "adaem",
) -> Answer:
    """Elicit, label and merge, as `settings` say. An answer that is not an opinion (evaluation.opinion_rules,
    checked with `encoder`, by default all-MiniLM-L6-v2) is re-asked, then a parse failure. unit='answer'
    labels all points in one judge text (one call with the joint protocol); unit='opinion' labels each point
    and ORs them (the paper's way). `prompts`: adaem's opinion prompt, or the paper's Listing 3."""
    ev = settings or Evaluation()
    check = None
    if ev.opinion_rules.enabled:
        if encoder is None:
            from .embeddings import default_encoder

            encoder = default_encoder()
        rules = ev.opinion_rules

        async def check(opinion: Opinion) -> str | None:  # embedded off the event loop, which keeps serving calls
            if language != "en":  # the embedding model reads English only: form is checked, not topic
                return opinion_problem(opinion, question, rules, encoder, language=language, allowed_words=ev.total_words)
            vectors = await embed(encoder, [question, *(p.text for p in opinion.points)])
            return opinion_problem(opinion, question, rules, encoder, vectors, allowed_words=ev.total_words)
    opinion = await elicit_opinion(model, question, k=ev.key_points, words=ev.total_words, fmt=ev.format,
                                   sampling=sampling, max_attempts=ev.max_parse_attempts, system=system, role=role,
                                   check=check, logprobs=logprobs, language=language, prompts=prompts,
                                   # Listing 3's "{length_num} words" is C.2's limit per point
                                   prompt_words=ev.word_limit if prompts == "paper" else None,
                                   max_length_ratio=ev.opinion_rules.max_length_ratio or 4.0)
    if ev.unit == "answer":
        text = " ".join(f"({i + 1}) {p.text}" for i, p in enumerate(opinion.points))
        labels = [await label_text(judge, theory, text, ev.protocol, calibration=ev.calibration,
                                   threshold=ev.threshold, prompt=ev.judge_prompt, unit="answer")]
    else:  # a judge that reuses its prompt prefix still takes one text at a time (its session)
        labels = list(await asyncio.gather(*(label_text(judge, theory, p.text, ev.protocol, calibration=ev.calibration,
                                                        threshold=ev.threshold, prompt=ev.judge_prompt)
                                             for p in opinion.points)))
    values = [lab.values for lab in labels]
    return Answer(opinion, labels, merge_or(values, theory.ids, ev.threshold, ev.merge),
                  merge_or(values, theory.ids, ev.threshold, "noisy-or"))


__all__ = [
    "Answer", "ModelCallError", "Opinion", "Point", "elicit_opinion", "measure_answer", "opinion_problem",
    "opinion_schema", "parse_opinion", "parse_opinion_json", "parse_points", "parse_stance", "points_logprob",
]
