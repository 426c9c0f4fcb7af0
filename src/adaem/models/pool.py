"""Turns `provider/model` names into pipeline Models that share one cache, ledger and CPU budget."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from functools import partial

from ..config import RunConfig, check_model_name
from ..endpoints import ANTHROPIC_PROVIDER, EMBEDDED_PROVIDER, MOCK_PROVIDER, PRESET_ENDPOINTS
from .accounting import Ledger
from .batch import BatchCollector
from .batch_quota import request_cost
from .cache import CallCache
from .pipeline import LoopSemaphore, Model
from .providers.base import Provider
from .types import BudgetReached, ChatMessage, ConfigError, GenerateConfig, ModelCallError


def _mock(name: str, model: str, config: RunConfig) -> Provider:
    from .providers.mock import MockProvider

    return MockProvider(model)


def _local(name: str, model: str, config: RunConfig) -> Provider:
    from . import embedded
    from .providers.local import LocalProvider

    embedded.lookup(model)  # unknown names fail here, before any weights are touched
    return LocalProvider(model, config.local)


def _api_key(name: str, config: RunConfig) -> tuple[str | None, str, list[str] | None]:
    """(the key from the environment, its variable, the base URLs) of an endpoint model; a missing key it needs is
    one ConfigError saying what to export."""
    provider = name.partition("/")[0]
    endpoint = config.endpoint(provider)
    base_urls = endpoint.resolved_base_urls(provider)
    key_env = endpoint.key_env(provider)
    key = os.environ.get(key_env) or None
    preset = PRESET_ENDPOINTS.get(provider)
    using_preset_url = preset is not None and (base_urls[0] if base_urls else None) == preset.base_url \
        and provider not in config.endpoints
    if key is None and endpoint.key_required and (using_preset_url or provider in config.endpoints):
        raise ConfigError(
            f"{name} needs an API key: export {key_env}=... (keys are read from the environment only), "
            f"or point it at a server without auth with {provider.upper().replace('-', '_')}_BASE_URL"
        )
    return key, key_env, base_urls


def _anthropic(name: str, model: str, config: RunConfig) -> Provider:
    from .providers.anthropic_api import AnthropicProvider

    key, key_env, base_urls = _api_key(name, config)
    return AnthropicProvider(model, base_url=base_urls[0] if base_urls else None, api_key=key, key_env=key_env)


def _openai_compatible(name: str, model: str, config: RunConfig) -> Provider:
    from .providers.dialect import Dialect
    from .providers.openai_api import OpenAIProvider

    provider = name.partition("/")[0]
    key, key_env, base_urls = _api_key(name, config)
    endpoint = config.endpoint(provider)
    limits = config.limits_for(name)
    info = config.model_info.get(name)
    return OpenAIProvider(
        provider, model, base_url=base_urls, api_key=key, key_env=key_env,
        dialect=Dialect.of(endpoint, model, info.kind if info else None), batch=endpoint.batch,
        batch_discount=endpoint.batch_discount, replica_limit=limits.max_concurrency,
        replica_cooldown=limits.replica_cooldown, timeout=limits.timeout,
        # asked live before the run; a batch run asks nothing live (its calls all go through the batch API)
        probe_logprobs=endpoint.logprobs == "auto" and not (info and info.kind == "reasoning")
        and not (endpoint.batch and config.batch.mode != "off"),
    )


# provider name → factory; every other name is an OpenAI-compatible endpoint (a preset or config.endpoints)
FACTORIES: dict[str, Callable[[str, str, RunConfig], Provider]] = {
    MOCK_PROVIDER: _mock, EMBEDDED_PROVIDER: _local, ANTHROPIC_PROVIDER: _anthropic,
}


def build_provider(name: str, config: RunConfig) -> Provider:
    """The provider for a model name; raises ConfigError naming what is wrong and how to fix it."""
    try:
        check_model_name(name, config.provider_names(), "model")
    except ValueError as exc:
        raise ConfigError(str(exc).removeprefix("model: ")) from None
    provider, _, model = name.partition("/")
    return FACTORIES.get(provider, _openai_compatible)(name, model, config)


class ModelPool:
    """Every model of a run, built once, sharing the call cache, the ledger and the local CPU slots."""

    def __init__(
        self,
        config: RunConfig,
        cache: CallCache | None = None,
        ledger: Ledger | None = None,
        on_event: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.cache = cache
        prices = {m: (p.input, p.output) for m, p in config.prices.items()}
        self.ledger = ledger or Ledger(prices)
        self.on_event = on_event
        self._cpu_slots = LoopSemaphore(config.local.parallel_models)
        self._models: dict[str, Model] = {}
        self.spend_gate: Callable[[], str | None] | None = None  # a job's cap: why no more calls may go out
        self.budget: Callable[[], float | None] | None = None  # USD the job's cap leaves; None: no cap
        self.cap_hint = "raise the cost cap and --resume"
        self.reserved = 0.0  # USD at most of the live calls in flight: the cap counts them before they are paid
        self.collector: BatchCollector | None = None  # batch mode: cache misses of batching models are collected

    def get(self, name: str) -> Model:
        model = self._models.get(name)
        if model is None:
            model = Model(
                build_provider(name, self.config),
                limits=self.config.limits_for(name),
                cache=self.cache,
                ledger=self.ledger,
                cpu_slots=self._cpu_slots,
                on_event=self._event,
                spend_gate=lambda: self.spend_gate() if self.spend_gate is not None else None,
                collector=lambda: self.collector,
                reserve=partial(self.reserve, name),
                release=self.release,
            )
            self._models[name] = model
        return model

    def reserve(self, name: str, messages: list[ChatMessage], call: GenerateConfig) -> float:
        """Set aside a live call's cost at most (batch_quota.request_cost) before it goes out, so the calls in
        flight together never take the spending past the cap; raises BudgetReached when the cap cannot pay it."""
        left = self.budget() if self.budget is not None else None
        if left is None:
            return 0.0
        provider = self._models[name].provider
        reasoning = self.config.endpoint(name.partition("/")[0]).reasoning.expected if provider.reasoning else 0
        cost = request_cost(self.config, name, messages, call, price_factor=1.0, reasoning_tokens=reasoning)
        if cost > 0 and self.reserved + cost > left:
            raise BudgetReached(f"cost cap reached: the calls in flight and this one may cost ${self.reserved + cost:.4f}"
                                f", the cap leaves ${max(left, 0.0):.4f}: {self.cap_hint}")
        self.reserved += cost
        return cost

    def release(self, cost: float) -> None:
        self.reserved = max(0.0, self.reserved - cost)

    def replica_rows(self) -> list[dict[str, object]]:
        """Calls and errors per replica of every replicated endpoint used (how the work spread)."""
        rows: list[dict[str, object]] = []
        for name, model in self._models.items():
            rows += [{"model": name, **r} for r in model.provider.replica_rows()]
        return rows

    def endpoint_facts(self) -> list[dict[str, object]]:
        """What the run learnt of its endpoints by asking (whether a server returns log-probabilities)."""
        return [{"model": name, **model.provider.facts} for name, model in self._models.items()
                if model.provider.facts]

    def in_flight(self) -> int:
        """Calls being made right now, over every model (for progress and benchmarks)."""
        return sum(m.in_flight for m in self._models.values())

    def _event(self, kind: str) -> None:
        if self.on_event is not None:
            self.on_event(kind)

    async def preflight(self, names: Iterable[str]) -> None:
        """Check every model can be used before work starts: weights present and intact, URLs reachable,
        keys accepted. Raises ConfigError with the first problem found."""
        models = [self.get(n) for n in dict.fromkeys(names)]

        async def check(model: Model) -> None:
            try:
                result = model.provider.preflight()
                if asyncio.iscoroutine(result):
                    await result
            except ModelCallError as exc:
                raise ConfigError(str(exc)) from None

        await asyncio.gather(*(check(m) for m in models))

    async def aclose(self) -> None:
        for model in self._models.values():
            await model.provider.aclose()
