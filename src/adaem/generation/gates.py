"""The gates every version of a generated question passes, first proposal and refinements alike, in this
order (SPEC §6 step 3): format (a yes/no question, at most `max_words`) → near-duplicate (against every question
accepted so far, seeds and siblings included) → safety filter. Also the optional screen of the answers behind an
accepted question."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RunConfig
from ..judge import p_flagged
from ..languages import place_in_text
from ..measure import embed
from ..models import GenerateConfig, ModelPool
from ..prompts import render
from ..scoring import Scored

YES_NO_START = {"should", "is", "are", "do", "does", "can", "will", "would", "has", "have", "was", "were", "did",
                "could", "must", "may", "ought", "shall"}
# The spec's rule (mean of the top-3 similarities > ε) lets an exact copy through while fewer than three
# close questions exist; a question this close to any single one is the same question.
SAME_QUESTION = 0.97
# A refinement: the question and the place it concerns. A new question first states its argument (Listing 6 of the
# paper: "[Argument]: <one sentence> [Question]: <yes-no question transformed from the argument>"); under a
# grammar the fields are written in this order, so the argument is written before the question.
# No string has a maxLength: a grammar would cut it mid-word; `question_problem` checks the length afterwards.
REFINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "country": {"type": "string"}},
    "required": ["question", "country"],
    "additionalProperties": False,
}
QUESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"argument": {"type": "string"}, **REFINE_SCHEMA["properties"]},
    "required": ["argument", "question", "country"],
    "additionalProperties": False,
}


def question_problem(text: str, max_words: int) -> str | None:
    """Why a generated text is not a usable yes/no question, or None when it is."""
    words = text.split()
    if not words:
        return "empty question"
    if not text.rstrip().endswith("?"):
        return "not a question (no question mark)"
    # "Should …?", or a short framing first: "In France, should …?" (the first word decides when it can)
    first = re.sub(r"[^\w']", "", words[0]).lower()
    if first not in YES_NO_START:
        lead = re.match(r"^[^,?]{1,60},\s*([\w']+)", text.strip().strip("\"'*"))
        first = lead.group(1).lower() if lead else first
    if first not in YES_NO_START:
        return f"not a yes/no question (starts with '{words[0]}')"
    if len(words) > max_words:
        return f"too long ({len(words)} words > {max_words})"
    return None


def json_field(raw: str, key: str) -> str | None:
    """One string field of a generator's answer, or None when it is not there: adaem's JSON, or the paper's
    "[Argument] : …" / "[Question]: …" lines (Listing 6)."""
    try:
        value = json.loads(raw).get(key)
    except (ValueError, AttributeError):
        value = listing_field(raw, key)
    return str(value).strip() if value else None


_MARKUP = re.compile(r"[*_`#>]+")


def listing_field(raw: str, key: str) -> str | None:
    """The text after the last "[Key]:" (or "[Key] :", markdown around it allowed) up to the end of its line, or
    on the next line when the marker ends its line; None when the answer has no such marker."""
    found = list(re.finditer(rf"\[\s*{re.escape(key)}\s*\]\s*:?", raw, re.IGNORECASE))
    if not found:
        return None
    rest = raw[found[-1].end():].lstrip(" \t:*")
    lines = [line for line in rest.splitlines() if _MARKUP.sub("", line).strip()]
    return _MARKUP.sub("", lines[0]).strip().strip("\"'") if lines else None


def listing_question(raw: str) -> str | None:
    """The question of a free-text answer to the paper's prompts: after "[Question]:" where the model wrote the
    marker (Listing 6 asks for it; Listing 8 ends with it, so the answer may be the bare question), else the first
    line that ends with a question mark. None when there is neither."""
    marked = listing_field(raw, "question")
    if marked:
        return re.sub(r"\s+", " ", marked)
    for line in raw.splitlines():
        plain = _MARKUP.sub("", line).strip().strip("\"'")
        if plain.endswith("?"):
            return re.sub(r"\s+", " ", plain)
    return None


def top3_similarity(candidate: np.ndarray, existing: np.ndarray) -> float:
    """Mean of the three highest cosine similarities to existing questions (SPEC §6 step 3)."""
    if len(existing) == 0:
        return 0.0
    sims = np.sort(existing @ candidate)[::-1][:3]
    return float(np.mean(sims))


@dataclass
class Gate:
    """A candidate question after the gates every version must pass (format → near-duplicate → safety):
    `stage` and `reason` say where and why it was kept out; None when it passed."""

    text: str
    country: str | None = None
    stage: str | None = None
    reason: str | None = None


class Gates:
    """The gates of one search, with the near-duplicate pool: every accepted question's embedding."""

    def __init__(self, config: RunConfig, pool: ModelPool, encoder: Any):
        self.config = config
        self.gen = config.generation
        self.pool = pool
        self.encoder = encoder
        self._pool_emb = np.zeros((0, 384), np.float32)

    def reset(self, texts: list[str]) -> None:
        """The near-duplicate pool: these questions (a run's accepted questions and seeds, at load)."""
        self._pool_emb = self.embed(texts)

    def add(self, text: str) -> None:
        self._pool_emb = np.vstack([self._pool_emb, self.embed([text])])

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings (the encoder remembers every text it has embedded, so the pool never re-embeds)."""
        return self.encoder.encode(texts) if texts else np.zeros((0, 384), np.float32)

    def near_duplicate(self, text: str) -> str | None:
        """Why `text` is a near-duplicate of a question accepted so far (SPEC §6 step 3), or None."""
        vector = self.embed([text])[0]
        similarity = top3_similarity(vector, self._pool_emb)
        closest = float(np.max(self._pool_emb @ vector)) if len(self._pool_emb) else 0.0
        if similarity > self.gen.epsilon or closest > SAME_QUESTION:
            return f"near-duplicate (top-3 similarity {similarity:.2f}, closest {closest:.2f})"
        return None

    def safety_format(self) -> str:
        fmt = self.gen.safety_format
        if fmt == "auto":
            fmt = "llama-guard" if "guard" in (self.config.roles.safety_filter or "").lower() else "yes-no"
        return fmt

    async def screen(self, question: str, answer: str | None = None) -> str | None:
        """Why the safety filter keeps a question (or one answer to it) out, or None when it lets it through.
        Reads yes/no and Llama-Guard's safe/unsafe; an unreadable verdict keeps it out too, said as such."""
        name = self.config.roles.safety_filter
        if not name:
            return None
        if self.safety_format() == "llama-guard":  # the model's own template asks whether the turn is safe
            messages = [{"role": "user", "content": question}]
            messages += [{"role": "assistant", "content": answer}] if answer is not None else []
        else:
            prompt = render("safety", question=question) if answer is None else \
                render("safety_answer", question=question, answer=answer)
            messages = [{"role": "user", "content": prompt}]
        out = await self.pool.get(name).generate(messages, GenerateConfig(temperature=0, max_tokens=10, seed=0),
                                                 role="safety_filter")
        p = p_flagged(out.choices[0].logprobs, out.text)
        if p is None:
            return f"unreadable safety verdict (kept out): {out.text.strip()[:40]!r}"
        return "flagged by the safety filter" if p >= 0.5 else None

    async def gate(self, raw: str) -> Gate:
        """Format, then near-duplicate against every question accepted so far (seeds included), then the safety
        filter: the gates of every version of a question, first proposal and refinements."""
        parsed = self.parse(raw)
        if isinstance(parsed, str):
            return Gate(raw[:200], stage="format", reason=parsed)
        text, country = parsed
        await embed(self.encoder, [text])  # off the event loop; the check below finds it remembered
        why = self.near_duplicate(text)
        if why:
            return Gate(text, country, "dedupe", why)
        why = await self.screen(text)
        if why:
            return Gate(text, country, "safety", why)
        return Gate(text, country)

    async def screen_answers(self, text: str, *scored: Scored) -> str | None:
        """With generation.screen_answers: why an answer behind the question keeps it out, or None."""
        if not (self.gen.screen_answers and self.config.roles.safety_filter):
            return None
        for s in scored:
            for model, a in s.answers.items():
                if "points" not in a:
                    continue
                answer = (f"{(a.get('stance') or '').capitalize()}. " if a.get("stance") else "") + " ".join(
                    f"({i + 1}) {p['point']}" + (f": {p['justification']}" if p.get("justification") else "")
                    for i, p in enumerate(a["points"]))
                why = await self.screen(text, answer)
                if why:
                    return f"answer of {model}: {why}"
        return None

    def parse(self, raw: str) -> tuple[str, str | None] | str:
        """(question, country) from a generator's answer: adaem's JSON, or the paper's free text (Listings 6 and 8:
        "[Question]: …"), whose place is read from the question itself (the paper's prompts do not ask for it)."""
        if self.config.prompts == "paper" and not raw.lstrip().startswith("{"):
            text = listing_question(raw)
            if text is None:
                return f"no yes/no question in the generator's answer: {raw[:80]!r}"
            country = place_in_text(text) or ""
        else:
            try:
                data = json.loads(raw)
                text = re.sub(r"\s+", " ", str(data["question"])).strip().strip("\"'")
                country = str(data.get("country") or "").strip()
            except (ValueError, KeyError, TypeError):
                return f"generator answer is not the asked JSON: {raw[:80]!r}"
        problem = question_problem(text, self.gen.max_words)
        if problem:
            return problem
        return text, (None if country.lower() in ("", "none", "n/a", "global", "worldwide") else country)
