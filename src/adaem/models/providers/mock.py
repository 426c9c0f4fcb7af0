"""`mock/<name>`: a scripted, deterministic model for unit tests (like inspect_ai's mockllm).

Without a script, the answer is a fixed function of (name, messages, seed): the same call gives the same
text, a different seed a different one. With a JSON schema, the answer is the smallest instance of it.
Tests register scripts with `register_mock(name, handler)`; a handler may return a string or a Completion,
sleep, or raise TransientError to simulate a provider fault.

Two environment variables serve subprocess tests: ADAEM_MOCK_LATENCY (seconds per call) and
ADAEM_MOCK_CALL_LOG (a file that gets one line per call actually made, to prove nothing was repeated).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..types import ChatMessage, Choice, GenerateConfig, TokenLogprob, Usage
from .base import Completion, Provider

MockHandler = Callable[[list[ChatMessage], GenerateConfig], "str | Completion | Awaitable[str | Completion]"]
_HANDLERS: dict[str, MockHandler] = {}


def register_mock(name: str, handler: MockHandler) -> None:
    _HANDLERS[name] = handler


def unregister_mock(name: str) -> None:
    _HANDLERS.pop(name, None)


_WORDS = ("yes no perhaps tradition freedom security care fairness power benevolence change order "
          "family law market culture science faith rights duty").split()


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()


def default_text(name: str, messages: list[ChatMessage], config: GenerateConfig) -> str:
    digest = _digest(name, [m.model_dump() for m in messages], config.seed, config.temperature)
    words = [_WORDS[b % len(_WORDS)] for b in digest[:12]]
    return f"mock answer {digest.hex()[:8]}: " + " ".join(words)


def topic_words(messages: list[ChatMessage]) -> tuple[str, ...]:
    """Content words of the first line of the last message (a prompt's `Question: …` or `Text: …`), so that the
    mock's answers are about what it was asked, as a real model's are."""
    first = messages[-1].content.strip().splitlines()[0] if messages and messages[-1].content.strip() else ""
    words = [w.strip("\"'?.,:;!()").lower() for w in first.split()]
    return tuple(dict.fromkeys(w for w in words if len(w) >= 4 and w.isalpha() and w not in _STOP))


_STOP = set("question text should would could shall must will does have been were their there these those that this "
            "with without about before after near from into onto over under than then when where which while what "
            "your yours they them more most less very also only just such some many much".split())


def schema_instance(schema: dict[str, Any], seed: bytes = b"", words: tuple[str, ...] = ()) -> Any:
    """A small valid instance of a JSON schema (the subset structured output uses). Strings are words of the
    `words` given (a topic) mixed with a fixed vocabulary."""
    if "enum" in schema:
        return schema["enum"][seed[0] % len(schema["enum"]) if seed else 0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return schema_instance(schema[key][0], seed, words)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: schema_instance(props[k], _digest(seed.hex(), k), words) for k in required if k in props}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        return [schema_instance(schema.get("items", {"type": "string"}), _digest(seed.hex(), i), words)
                for i in range(count)]
    if kind == "boolean":
        return bool(seed[0] % 2) if seed else True
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "null":
        return None
    picked = [(words if words and i % 2 == 0 else _WORDS)[b % len(words if words and i % 2 == 0 else _WORDS)]
              for i, b in enumerate((seed or b"\0\1\2\3")[:4])]
    return "mock " + " ".join(picked)


_PLACES = ("Kenya", "Japan", "Brazil", "France", "India", "Canada", "Egypt", "Norway", "Chile", "Vietnam")


_VERDICT = ("answer yes or no", "just respond with 'yes' or 'no'")


def is_verdict_prompt(text: str) -> bool:
    """A yes/no question to the judge: adaem's prompts ("Answer Yes or No") or the paper's Listing 4."""
    lowered = text.lower()
    return any(v in lowered for v in _VERDICT)


def _general_words(messages: list[ChatMessage]) -> tuple[str, ...]:
    """Content words of the general question of a conversation in the paper's prompts ("[General Argument]: …" or
    "[General question]: …"), which later turns do not repeat."""
    for m in messages:
        for line in m.content.splitlines():
            if line.startswith(("[General Argument]:", "[General question]:")):
                return topic_words([ChatMessage(role="user", content=line.split(":", 1)[1])])
    return ()


def paper_step(name: str, messages: list[ChatMessage], digest: bytes) -> str | None:
    """A plausible free-text answer to a step of the paper's prompts (Listings 3 and 5–8), or None for any other
    prompt: the opinion in Listing 3's format, a fact, "[Argument] : … [Question]: …", suggestions, a question."""
    last = messages[-1].content if messages else ""
    words = _general_words(messages) or topic_words(messages) or ("policy",)
    place = _PLACES[digest[1] % len(_PLACES)]
    topic = " ".join(words[:2])
    question = f"Should {place} restrict {topic} for group {digest[2]} by {1990 + digest[3] % 40}?"
    if "you should give me your stance" in last:
        stance = ("yes", "no", "neutral")[digest[0] % 3]
        points = [f"{i + 1}. The {words[digest[4 + i] % len(words)]} question and {_WORDS[digest[8 + i] % len(_WORDS)]}: "
                  f"it matters for {_WORDS[digest[12 + i] % len(_WORDS)]} in everyday life" for i in range(3)]
        return f"Stance: {stance}\nKey Points:\n" + "\n".join(points)
    if "think step by step" in last:
        return f"Let me think. In {place}, a {1990 + digest[3] % 40} law on {topic} divided group {digest[2]}."
    if "[Argument] :" in last:
        return f"[Argument] : {place} restricting {topic} would protect group {digest[2]} but limit others.\n" \
               f"[Question]: {question}"
    if "only suggections" in last:
        return f"1. Name the {topic} rule of {place}. 2. Make the trade-off for group {digest[2]} explicit."
    if last.rstrip().endswith("[Question]:"):
        return question
    return None


def simulated(name: str, messages: list[ChatMessage], schema: dict[str, Any] | None, seed: Any = None) -> str:
    """A plausible answer to every step of adaem, for benchmarks against a server (the stub's `sim*` models):
    a yes/no verdict to the judge, a stance with three key points about the question's words to the opinion
    prompt (as free text, or as JSON under its schema), a new yes/no question about a place to the
    generator, a sentence otherwise. Deterministic in (name, messages, seed); models with other names differ."""
    digest = _digest(name, [m.model_dump() for m in messages], seed)
    last = messages[-1].content if messages else ""
    words = topic_words(messages) or ("policy",)
    if is_verdict_prompt(last):
        return "Yes" if digest[0] % 3 == 0 else "No"
    step = paper_step(name, messages, digest) if schema is None else None
    if step is not None:
        return step
    if schema is not None and "question" in (schema.get("properties") or {}):
        place = _PLACES[digest[1] % len(_PLACES)]
        topic = " ".join(words[:2])
        argument = ({"argument": f"{place} restricting {topic} would protect group {digest[2]} but limit others."}
                    if "argument" in (schema.get("properties") or {}) else {})
        return json.dumps({**argument,
                           "question": f"Should {place} restrict {topic} for group {digest[2]} by {1990 + digest[3] % 40}?",
                           "country": place})
    if schema is not None:
        return json.dumps(schema_instance(schema, digest, words))
    if "give your own opinion" in last.lower():
        stance = ("Yes", "No", "Neutral")[digest[0] % 3]
        points = []
        for i in range(3):
            a, b = words[digest[4 + i] % len(words)], _WORDS[digest[8 + i] % len(_WORDS)]
            points.append(f"{i + 1}. The {a} question and {b}: it matters for {_WORDS[digest[12 + i] % len(_WORDS)]} "
                          f"and {words[digest[16 + i] % len(words)]} in everyday life")
        return f"Stance: {stance}\n" + "\n".join(points)
    return default_text(name, messages, GenerateConfig(seed=seed if isinstance(seed, int) else None))


class MockProvider(Provider):
    provider = "mock"
    default_concurrency = 64
    schema_opinions = True

    def __init__(self, model: str):
        self.model = model
        self.calls = 0

    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        self.calls += 1
        latency = float(os.environ.get("ADAEM_MOCK_LATENCY") or 0)
        if latency:
            await asyncio.sleep(latency)
        handler = _HANDLERS.get(self.model)
        if handler is not None:
            result = handler(messages, config)
            if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                result = await result
        elif config.json_schema is not None:
            seed = _digest(self.model, [m.model_dump() for m in messages], config.seed)
            result = json.dumps(schema_instance(config.json_schema, seed, topic_words(messages)))
        elif messages and is_verdict_prompt(messages[-1].content):  # a yes/no question (the judge)
            result = "Yes" if _digest(self.model, [m.model_dump() for m in messages])[0] % 2 else "No"
        else:
            digest = _digest(self.model, [m.model_dump() for m in messages], config.seed)
            result = paper_step(self.model, messages, digest) or default_text(self.model, messages, config)
        completion = result if isinstance(result, Completion) else self._wrap(str(result), messages, config)
        log = os.environ.get("ADAEM_MOCK_CALL_LOG")
        if log:
            with open(log, "a") as fh:
                key = hashlib.sha256(json.dumps([m.model_dump() for m in messages]).encode()).hexdigest()[:16]
                fh.write(f"{self.model}\t{key}\t{config.seed}\n")
        return completion

    def _wrap(self, text: str, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        logprobs = None
        if config.logprobs:
            logprobs = [TokenLogprob(token=tok, logprob=-0.1, top={tok: -0.1}) for tok in re.findall(r"\s*\S+", text)]
        usage = Usage(input_tokens=sum(len(m.content.split()) for m in messages), output_tokens=len(text.split()))
        return Completion(Choice(text=text, finish_reason="stop", logprobs=logprobs), usage, {"mock": self.model})
