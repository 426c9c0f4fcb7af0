"""`local/<name>`: embedded GGUF models run in-process with llama-cpp-python.

Facts that shape this file (measured on 2-core machines):
- identical seeds give identical text only after `reset()` before each seeded call;
- free-form JSON from these small models almost never parses, so a JSON schema becomes a grammar;
- `logits_all=True` (what llama-cpp-python wants for logprobs) costs n_ctx × vocab floats, so log-probabilities
  come from our own sampling loop that reads only the last position's logits.
- a judge's one-token verdicts on one text share everything but the value asked about: `complete_many`
  evaluates them as parallel sequences of one llama.cpp batch (the shared prefix once, each value's tokens as
  its own sequence over a copy of the prefix's KV cache), several times faster than one call after another.
Calls run in a worker thread (llama.cpp releases the GIL) so progress bars stay live; one call at a time per
model, and the pool's CPU slots keep several local models from thrashing the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
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
    batches_prompts = True

    def __init__(self, model: str, settings: LocalSettings):
        self.model = model
        self.settings = settings
        self._llm: Any = None
        self._lock = threading.Lock()
        self._formatter: Any = None  # the chat template, compiled once (Jinja compiles it per construction)
        self._streams: _Streams | None = None  # the context of batched one-token calls, made at first use
        # batching on (local.batch_prompts > 1): weights not repacked and MIN_OWN tokens per evaluation, so batched
        # and lone calls agree exactly; off (the default): llama.cpp's defaults, as before issue 38
        self.batches = settings.batch_prompts > 1

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
            with _plain_weights(self.batches):
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

    async def complete_many(self, calls: list[tuple[list[ChatMessage], GenerateConfig]]) -> list[Completion | ModelCallError]:
        """Several calls in one go: the one-token log-probability calls (a judge's verdicts) as one batched
        evaluation, any other call after them one at a time. A call that fails gives its error in its place."""
        return await asyncio.to_thread(self._complete_many_sync, calls)

    def _complete_many_sync(self, calls: list[tuple[list[ChatMessage], GenerateConfig]]) -> list[Completion | ModelCallError]:
        out: list[Completion | ModelCallError | None] = [None] * len(calls)
        with self._lock:
            llm = self._load()
            batched = [i for i, (_, c) in enumerate(calls) if _one_token(c)] if self.batches else []
            if len(batched) > 1:
                for i, result in zip(batched, self._first_tokens(llm, [calls[i] for i in batched]), strict=True):
                    out[i] = result
            for i, (messages, config) in enumerate(calls):
                if out[i] is None:
                    try:
                        out[i] = self._complete_locked(llm, messages, config)
                    except ModelCallError as exc:
                        out[i] = exc
        return [r for r in out if r is not None]

    def _complete_sync(self, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
        with self._lock:
            return self._complete_locked(self._load(), messages, config)

    def _complete_locked(self, llm: Any, messages: list[ChatMessage], config: GenerateConfig) -> Completion:
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
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelCallError(f"local/{self.model} has no chat template for a log-probability call")
            eos = llm._model.token_get_text(llm.token_eos())
            bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        payload: Any = [m.model_dump() for m in messages]  # llama_cpp types each role's TypedDict
        return self._formatter(messages=payload).prompt

    def _prompt_tokens(self, llm: Any, messages: list[ChatMessage]) -> list[int]:
        tokens: list[int] = llm.tokenize(self._chat_prompt(llm, messages).encode(), add_bos=False, special=True)
        if len(tokens) + 1 >= llm.n_ctx():
            raise ModelCallError(f"local/{self.model}: prompt of {len(tokens)} tokens exceeds n_ctx {llm.n_ctx()}")
        if len(tokens) < MIN_OWN:
            raise ModelCallError(f"local/{self.model}: an empty prompt")
        return tokens

    def _prefill(self, llm: Any, messages: list[ChatMessage]) -> tuple[list[int], int]:
        """Evaluate the chat prompt, keeping its common prefix with the previous call in the KV cache (no
        reset), so a judge that asks many questions over one shared preamble pays only for the new tokens."""
        tokens = self._prompt_tokens(llm, messages)
        keep = _common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        keep = min(keep, len(tokens) - (MIN_OWN if self.batches else 1))  # see MIN_OWN
        llm.n_tokens = keep
        llm.eval(tokens[keep:])
        return tokens, keep

    def _first_tokens(self, llm: Any, calls: list[tuple[list[ChatMessage], GenerateConfig]]
                      ) -> list[Completion | ModelCallError | None]:
        """One-token calls evaluated together, each exactly as a call of its own would be (see `_Streams`)."""
        out: list[Completion | ModelCallError | None] = [None] * len(calls)
        prompts: list[tuple[int, list[int]]] = []
        for i, (messages, _) in enumerate(calls):
            try:
                prompts.append((i, self._prompt_tokens(llm, messages)))
            except ModelCallError as exc:
                out[i] = exc
        if self._streams is None:
            self._streams = _Streams(llm, self.settings.batch_prompts, min(self.settings.n_ctx, BATCH_CONTEXT))
        for group in self._streams.groups(prompts):
            try:
                evaluated = self._streams.evaluate([t for _, t in group])
            except ModelCallError as exc:
                for i, _ in group:
                    out[i] = exc
                continue
            if evaluated is None:
                continue
            for (i, tokens), (keep, logp) in zip(group, evaluated, strict=True):
                raw = {"prompt_tokens_reused": keep, "decoding": "batched", "batch_prompts": len(group)}
                out[i] = self._sample_with_logprobs(llm, calls[i][0], calls[i][1], first=(tokens, raw, logp))
        return out  # None: a prompt too long for the batch context, which the caller runs alone

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

    def _sample_with_logprobs(self, llm: Any, messages: list[ChatMessage], config: GenerateConfig,
                              first: tuple[list[int], dict[str, Any], np.ndarray] | None = None) -> Completion:
        """Sample token by token, keeping each chosen token's log-probability and the top alternatives. `first`:
        (prompt tokens, raw record, log-probabilities of the first answer token) of a prompt evaluated in a batch,
        for a one-token call; the one sampling code then reads them as it reads its own."""
        import llama_cpp

        if first is None:
            tokens, keep = self._prefill(llm, messages)
            raw: dict[str, Any] = {"prompt_tokens_reused": keep}
        else:
            tokens, raw, first_logp = first
        rng = np.random.default_rng(config.seed)
        eos = llm.token_eos()
        out_tokens: list[int] = []
        logprobs: list[TokenLogprob] = []
        finish = "length"
        text = b""
        limit = min(config.max_tokens, llm.n_ctx() - len(tokens) - 1)
        if first is not None:
            limit = 1  # only the first token's logits were computed
        for step in range(limit):
            logp = first_logp if first is not None and step == 0 else self._last_logp(llm)
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
            raw,
        )

    async def aclose(self) -> None:
        with self._lock:
            if self._streams is not None:
                self._streams.close()
                self._streams = None
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


def _one_token(config: GenerateConfig) -> bool:
    """A call answered from one token's log-probabilities (a per-value judge's verdict): batchable."""
    return config.logprobs and config.json_schema is None and config.max_tokens == 1



# llama.cpp's CPU kernels compute a token's row alike in every batch of 8 tokens or more, and otherwise in a
# batch of fewer (measured: the same prompt's logits move by up to 0.5 when its last 1–7 tokens are evaluated on
# their own, and are bit for bit equal for any split into parts of 8 or more). So every evaluation of a
# log-probability call takes at least MIN_OWN tokens: a call's logits are then the same whatever the call
# before it left in the KV cache, and the same alone or batched.
MIN_OWN = 8
BATCH_CONTEXT = 1024  # tokens per sequence of the batch context (a judge's prompt; a longer one goes alone)


class _Streams:
    """A second llama.cpp context on the same weights for one-token calls evaluated together, built so that each
    call's logits are bit for bit those of a call of its own (`_prefill`), not merely close: llama.cpp's CPU
    kernels round differently when a token's KV cells sit elsewhere in the cache (measured: |ΔP(yes)| up to 0.05
    with the sequences sharing one cache), so each prompt gets its own KV stream (`kv_unified` off) laid out as a
    lone call lays it: the shared prefix (evaluated once in sequence 0 and copied whole to the other streams) at
    cells 0…, then the prompt's own tokens. llama.cpp takes the same number of tokens from every stream in a
    batch, so each prompt evaluates its last M tokens, M the longest own part of the group: a shorter prompt
    re-evaluates a few prefix tokens into the very cells they held. Sequence 0 keeps its prompt afterwards, so
    the next group reuses the common prefix, as `_prefill` does."""

    def __init__(self, llm: Any, size: int, n_ctx: int):
        import llama_cpp

        self.low = llama_cpp
        self.size = size
        self.n_ctx = n_ctx
        params = llama_cpp.llama_context_params.from_buffer_copy(llm.context_params)  # the main context's settings
        params.n_seq_max = size
        params.kv_unified = False
        params.n_ctx = n_ctx * size
        params.n_batch = params.n_ubatch = max(512, n_ctx)
        self.n_batch = int(params.n_batch)
        self.ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
        if self.ctx is None:
            raise ModelCallError("llama.cpp could not create the batch context")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_vocab = llm.n_vocab()
        self.held: list[int] = []  # sequence 0's tokens

    def groups(self, prompts: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
        """The prompts that fit (shorter than the context of a stream), in groups of at most `size`."""
        fitting = [p for p in prompts if len(p[1]) < self.n_ctx]
        return [fitting[i:i + self.size] for i in range(0, len(fitting), self.size)]

    def evaluate(self, prompts: list[list[int]]) -> list[tuple[int, np.ndarray]] | None:
        """(tokens reused from the previous group, log-probabilities after the last token) of each prompt; None
        when a prompt is shorter than another's own part (they share too little: take them one at a time)."""
        low = self.low
        trunk = min(min(_common_prefix(prompts[0], p) for p in prompts), *(len(p) - MIN_OWN for p in prompts))
        if trunk < MIN_OWN:  # too little in common to evaluate apart
            trunk = 0
        keep = min(_common_prefix(self.held, prompts[0]), trunk)
        if keep < trunk:
            keep = max(0, min(keep, trunk - MIN_OWN))
        own = max(len(p) - trunk for p in prompts)  # M: every prompt evaluates its last M tokens
        if any(len(p) < own for p in prompts):
            return None
        low.llama_memory_seq_rm(self.memory, 0, keep, -1)
        self.held = self.held[:keep]
        batch = low.llama_batch_init(self.n_batch, 0, 1)
        try:
            for start, end in _spans(keep, trunk, self.n_batch):  # the shared prefix, in sequence 0
                self._decode(batch, [(t, pos, 0, False) for pos, t in enumerate(prompts[0][start:end], start)])
            self.held = prompts[0][:trunk]
            for s in range(1, len(prompts)):
                low.llama_memory_seq_rm(self.memory, s, -1, -1)
                low.llama_memory_seq_cp(self.memory, 0, s, -1, -1)  # the whole stream, copied at the next decode
            for s, p in enumerate(prompts):
                low.llama_memory_seq_rm(self.memory, s, len(p) - own, -1)
            logits: dict[int, np.ndarray] = {}
            for start, end in _spans(0, own, self.n_batch // len(prompts)):  # as many tokens of every stream
                rows = []
                for s, p in enumerate(prompts):
                    rows += [(p[pos], pos, s, pos == len(p) - 1) for pos in range(len(p) - own + start, len(p) - own + end)]
                for j, row in enumerate(self._decode(batch, rows)):
                    if row[3]:
                        data = np.ctypeslib.as_array(low.llama_get_logits_ith(self.ctx, j), shape=(self.n_vocab,))
                        logits[row[2]] = data.astype(np.float64)
            self.held = list(prompts[0])
        except BaseException:
            low.llama_memory_seq_rm(self.memory, 0, -1, -1)
            self.held = []
            raise
        finally:
            for s in range(1, len(prompts)):
                low.llama_memory_seq_rm(self.memory, s, -1, -1)
            low.llama_batch_free(batch)
        return [(keep, logits[s] - np.logaddexp.reduce(logits[s])) for s in range(len(prompts))]

    def _decode(self, batch: Any, rows: list[tuple[int, int, int, bool]]) -> list[tuple[int, int, int, bool]]:
        """Evaluate (token, position, sequence, logits wanted) rows as one llama.cpp batch."""
        batch.n_tokens = len(rows)
        for j, (token, pos, seq, wanted) in enumerate(rows):
            batch.token[j] = token
            batch.pos[j] = pos
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = seq
            batch.logits[j] = wanted
        code = self.low.llama_decode(self.ctx, batch)
        if code != 0:
            raise ModelCallError(f"llama_decode returned {code} on a batch of {len(rows)} tokens")
        return rows

    def close(self) -> None:
        if self.ctx is not None:
            self.low.llama_free(self.ctx)
            self.ctx = None


def _spans(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """[start, end) in the fewest parts of at most `size`, as equal as can be (no short last part: see MIN_OWN)."""
    if end <= start:
        return []
    parts = -(-(end - start) // max(size, 1))
    step = -(-(end - start) // parts)
    return [(a, min(a + step, end)) for a in range(start, end, step)]


@contextlib.contextmanager
def _plain_weights(plain: bool = True) -> Iterator[None]:
    """Load weights without llama.cpp's repacking (`use_extra_bufts`, on by default, which Llama() does not
    expose: its default parameters are amended while a model loads). Repacked Q4_K weights are multiplied by one
    kernel for a batch's rows in fours and another for the rest, which round differently, so a prompt's logits
    depended on how many tokens were evaluated with it: a judge's P(yes) moved by up to 0.035 between a batched
    and a lone call, and by up to 0.007 with the previous call's prompt. Without repacking each row is computed
    alike: a call's logits are the same whatever came before it or was evaluated with it (measured no slower on
    2 cores; benchmarks/bench_judge_batch.py)."""
    import llama_cpp.llama_cpp as low

    if not plain:
        yield
        return
    with _PATCH_LOCK:
        default = low.llama_model_default_params

        def amended() -> Any:
            params = default()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = amended
        try:
            yield
        finally:
            low.llama_model_default_params = default


_PATCH_LOCK = threading.Lock()
