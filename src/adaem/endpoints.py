"""The endpoints adaem knows: how each vendor's OpenAI-compatible (or native) API is reached and what its requests
may carry (seed and token-cap field names, sampling fields, log-probabilities, JSON-schema form, batch API,
reasoning models). Each preset says which documentation it reflects (README, "Pointing a run at real models").
Data only; the providers (models/providers/) build requests from it."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMBEDDED_PROVIDER = "local"
MOCK_PROVIDER = "mock"


class Reasoning(BaseModel):
    """How an endpoint's reasoning models are called and read. A model reasons when `model_info.<model>.kind` says
    `reasoning`, or when its name matches one of `models` (the vendor's documented reasoning models) and
    `model_info` does not say `chat`. Its calls never ask for log-probabilities (they would be the hidden
    reasoning's, so the judge reads its verdict from the answer text), leave out the `drops` fields, and get
    `allowance` more tokens on their cap for the hidden reasoning; what it reasons (`reasoning_content`,
    `reasoning`, `<think>…</think>`, thinking chunks) is stripped before the answer is parsed and its tokens are
    counted in the accounting."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, description="regular expressions (whole name, any case) of the "
                              "model names that reason by default on this endpoint")
    drops: list[str] = Field(default_factory=list, description="request fields a reasoning model refuses or ignores "
                             "(temperature, top_p, stop, seed): never sent to one")
    allowance: int = Field(4096, ge=0, description="tokens added to each call's max-tokens cap for hidden reasoning "
                           "(the cap counts reasoning and answer together); too small and the answer is empty")
    expected: int = Field(1000, ge=0, description="reasoning tokens a call is assumed to spend: used by `adaem "
                          "estimate` and by the cost cap's check of a batch round before it is submitted (not "
                          "documented by any vendor; measure yours: the usage table after a run shows reasoning tokens)")
    effort: str | None = Field(None, description="sent as reasoning_effort (e.g. low, medium, high); None: the "
                               "model's default")
    disable: dict[str, Any] | None = Field(None, description="body fields that switch a hybrid model's reasoning off, "
                                           "sent when model_info declares a model `models` matches kind: chat (e.g. "
                                           "DeepSeek's {thinking: {type: disabled}})")

    @field_validator("models")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"'{pattern}' is not a regular expression ({exc})") from None
        return value

    def matches(self, model: str) -> bool:
        return any(re.fullmatch(p, model, re.IGNORECASE) for p in self.models)


class Endpoint(BaseModel):
    """An OpenAI-compatible API. Its name is the provider part of `name/model`. Capabilities say what the server
    really does, and the request is built from them so a field the vendor does not document is never sent (Mistral
    answers HTTP 422 to one): the seed's field name, the max-tokens field, which sampling fields, log-probabilities,
    the JSON-schema form, a batch API, and how its reasoning models behave."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | list[str] | None = Field(
        None, description="None: the official API (or $<NAME>_BASE_URL). A list: replicas of one server (vLLM/SGLang "
        "instances of the same model); each call goes to the replica with the fewest calls outstanding, the "
        "concurrency limit applies per replica, and the first URL names the endpoint in the call cache",
    )
    api_key_env: str | None = Field(None, description="environment variable holding the key; default <NAME>_API_KEY")
    key_required: bool = Field(False, description="fail before the run when the key is missing")
    structured_output: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema",
        description="how a JSON schema is sent: OpenAI's json_schema response_format, llama.cpp server's "
        "{'type': 'json_object', 'schema': ...}, or not at all (the answer is then validated only)",
    )
    logprobs: bool | Literal["auto"] = Field(
        "auto", description="the server returns token log-probabilities; false: they are never asked for (some "
        "servers refuse the field) and judge labels come from the answer text; auto (an endpoint you name): one "
        "one-token call before the run asks, and the answer is used and recorded in the run (`endpoint_facts`)")
    max_top_logprobs: int = Field(20, ge=0, le=20, description="alternatives per token the server gives at most")
    seed_field: str | None = Field("seed", description="the request field of the sampling seed (Mistral: "
                                   "random_seed); None: the server has none and no seed is sent")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="the request field of the token cap (OpenAI's own API: max_completion_tokens, "
        "which also caps hidden reasoning)")
    sampling_fields: list[Literal["temperature", "top_p"]] = Field(
        default_factory=lambda: ["temperature", "top_p"],  # type: ignore[arg-type]  # (list[str] is not widened)
        description="sampling fields the server takes")
    max_temperature: float = Field(2.0, gt=0, le=2, description="temperatures above this are sent as this")
    stop: bool = Field(True, description="the server takes stop sequences")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="fields added to every request body")
    reasoning: Reasoning = Field(default_factory=Reasoning)
    batch: bool = Field(False, description="the server implements OpenAI's /files + /batches (batch mode uses it)")
    batch_discount: float = Field(0.5, gt=0, le=1, description="price factor of calls made through the batch API")

    @field_validator("base_url")
    @classmethod
    def _urls(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("a list of replica URLs must not be empty")
            if len(set(value)) != len(value):
                raise ValueError("replica URLs repeat")
        return value

    def resolved_base_urls(self, name: str) -> list[str] | None:
        """The endpoint's URLs, replicas in order; `$<NAME>_BASE_URL` (comma-separated for replicas) wins."""
        env = os.environ.get(f"{name.upper().replace('-', '_')}_BASE_URL")
        if env:
            return [u.strip() for u in env.split(",") if u.strip()]
        if self.base_url is None:
            return None
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    def resolved_base_url(self, name: str) -> str | None:
        """The URL that names the endpoint (the first replica's)."""
        urls = self.resolved_base_urls(name)
        return urls[0] if urls else None

    def key_env(self, name: str) -> str:
        return self.api_key_env or f"{name.upper().replace('-', '_')}_API_KEY"


ANTHROPIC_PROVIDER = "anthropic"

# Reasoning models served under their open-weights names (vLLM, SGLang, Ollama, llama.cpp, Together, Fireworks,
# OpenRouter): DeepSeek-R1 and its distills, QwQ, Qwen3's thinking models and its hybrid models (which think unless
# told not to), gpt-oss, Magistral, and OpenAI's o-series and gpt-5 family behind routers.
OPEN_REASONING_MODELS = [
    r"(.*/)?deepseek-r1.*", r"(.*/)?.*-r1(-distill.*)?", r"(.*/)?qwq.*", r"(.*/)?.*thinking.*", r"(.*/)?gpt-oss.*",
    r"(.*/)?magistral.*", r"(.*/)?qwen3-[\d.]+b(-a[\d.]+b)?(-(fp8|awq|gguf|int4|int8|gptq))?", r"(.*/)?o[1-9](-.*)?",
    r"(.*/)?gpt-5(?!.*chat).*",
]
_OPEN = Reasoning(models=OPEN_REASONING_MODELS)

# Hosted APIs users name most, with the request fields and capabilities each documents (each preset was checked
# against its vendor's documentation as stored on 2026-12-06; the README's "Presets" table names the page and
# version of each). Any of these can be overridden under `endpoints:`. `anthropic` is the native Messages API, the
# rest are OpenAI-compatible.
PRESET_ENDPOINTS: dict[str, Endpoint] = {
    # o-series and gpt-5 (not gpt-5*-chat*): max_completion_tokens counts hidden reasoning; temperature other than 1,
    # top_p, logprobs and (o3, o4-mini) stop are refused with HTTP 400; the reasoning guide suggests reserving
    # 25,000 tokens for reasoning and answer
    "openai": Endpoint(base_url=None, key_required=True, batch=True, max_tokens_field="max_completion_tokens",
                       reasoning=Reasoning(models=[r"o[1-9](-.*)?", r"gpt-5(?!.*chat).*"],
                                           drops=["temperature", "top_p", "stop"], allowance=25_000)),
    ANTHROPIC_PROVIDER: Endpoint(base_url=None, key_required=True, logprobs=False, max_top_logprobs=0, batch=True),
    # Gemini's OpenAI-compatible layer: JSON schemas yes; log-probabilities and batches only in its native API;
    # 2.5 and later models think by default (thoughts are not returned, their tokens count against the cap)
    "gemini": Endpoint(base_url="https://generativelanguage.googleapis.com/v1beta/openai", api_key_env="GEMINI_API_KEY",
                       key_required=True, logprobs=False, max_top_logprobs=0,
                       reasoning=Reasoning(models=[r"gemini-2\.5.*", r"gemini-[3-9].*"], allowance=8192)),
    # Groq answers HTTP 400 to logprobs / top_logprobs; it runs OpenAI-format batch files at half price; its
    # reasoning models return <think> blocks (raw) or a reasoning field (parsed)
    "groq": Endpoint(base_url="https://api.groq.com/openai/v1", key_required=True, logprobs=False, max_top_logprobs=0,
                     batch=True, reasoning=Reasoning(models=[r"openai/gpt-oss.*", r"qwen/qwen3.*", r".*deepseek-r1.*"])),
    "fireworks": Endpoint(base_url="https://api.fireworks.ai/inference/v1", key_required=True, max_top_logprobs=5,
                          reasoning=_OPEN),
    # DeepSeek's V4 models think by default (reasoning_content); thinking ignores temperature / top_p and refuses
    # logprobs; max_tokens counts the reasoning (default 32K)
    "deepseek": Endpoint(base_url="https://api.deepseek.com/v1", key_required=True, structured_output="json_object",
                         reasoning=Reasoning(models=[r".*"], drops=["temperature", "top_p"], allowance=32_768,
                                             disable={"thinking": {"type": "disabled"}})),
    "together": Endpoint(base_url="https://api.together.xyz/v1", key_required=True, reasoning=_OPEN),
    "openrouter": Endpoint(base_url="https://openrouter.ai/api/v1", key_required=True, reasoning=_OPEN),
    # Mistral validates the body (HTTP 422 on any field it does not define): random_seed, no logprobs
    "mistral": Endpoint(base_url="https://api.mistral.ai/v1", key_required=True, logprobs=False, max_top_logprobs=0,
                        seed_field="random_seed", max_temperature=1.0,
                        reasoning=Reasoning(models=[r"magistral.*"])),
    # GLM-4.5 and later think by default (reasoning_content); temperature in [0, 1]
    "zhipu": Endpoint(base_url="https://open.bigmodel.cn/api/paas/v4", key_required=True, logprobs=False,
                      max_top_logprobs=0, max_temperature=1.0,
                      reasoning=Reasoning(models=[r"glm-4\.[5-9].*", r"glm-[5-9].*", r"glm-z1.*"],
                                          disable={"thinking": {"type": "disabled"}})),
    # DashScope: hybrid Qwen3 models think when enable_thinking is true; QwQ and *-thinking models always do
    "qwen": Endpoint(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1", api_key_env="DASHSCOPE_API_KEY",
                     key_required=True, reasoning=Reasoning(models=[r"qwq.*", r".*thinking.*"],
                                                            disable={"enable_thinking": False})),
    "ollama": Endpoint(base_url="http://127.0.0.1:11434/v1", reasoning=_OPEN),
    "vllm": Endpoint(base_url="http://127.0.0.1:8000/v1", reasoning=_OPEN),
    # SGLang removed its /v1/files + /v1/batches in its OpenAI-server refactor (sgl-project/sglang#7400, 2025-06):
    # batch it with --batch-export files instead
    "sglang": Endpoint(base_url="http://127.0.0.1:30000/v1", reasoning=_OPEN),
    "llamacpp": Endpoint(base_url="http://127.0.0.1:8080/v1", structured_output="json_object", reasoning=_OPEN),
}
# A vendor's API documents whether it returns log-probabilities (declared above where it does not); the local servers'
# presets keep `auto`, since it depends on the server's version and how the model was loaded: the run asks once.
for _endpoint in PRESET_ENDPOINTS.values():
    if _endpoint.logprobs == "auto" and not str(_endpoint.base_url or "https://").startswith("http://127.0.0.1"):
        _endpoint.logprobs = True
