"""The Anthropic provider against a loopback fake of the Messages and Message Batches APIs."""

import asyncio
import hashlib
import json

import pytest
from anthropic_stub import AnthropicStub

from adaem.config import Limits
from adaem.models import GenerateConfig, Ledger, Model, ModelCallError, TransientError
from adaem.models.providers.anthropic_api import AnthropicProvider
from adaem.models.types import ChatMessage, as_messages

KEY = "stub-key"
SCHEMA = {"type": "object", "properties": {"stance": {"type": "string", "enum": ["yes", "no", "neutral"]}},
          "required": ["stance"], "additionalProperties": False}


@pytest.fixture
async def stub():
    server = await AnthropicStub(api_key=KEY).start()
    yield server
    await server.stop()


@pytest.fixture
async def make():
    providers = []

    def build(model: str, base_url: str | None, api_key: str | None = KEY) -> AnthropicProvider:
        provider = AnthropicProvider(model, base_url=base_url, api_key=api_key, key_env="ANTHROPIC_API_KEY")
        providers.append(provider)
        return provider

    yield build
    for provider in providers:
        await provider.aclose()


def chat(*turns: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=text) for role, text in turns]


def test_request_body_shape():
    provider = AnthropicProvider("claude-x", base_url=None, api_key="k", key_env="ANTHROPIC_API_KEY")
    messages = chat(("system", "Be brief."), ("system", "Answer in English."), ("user", "Q1"),
                    ("assistant", "A1"), ("user", "Q2"))
    config = GenerateConfig(temperature=1.5, top_p=0.5, max_tokens=77, seed=3, logprobs=True, top_logprobs=5,
                            json_schema=SCHEMA, stop=("END",))
    body = provider.request_body(messages, config)
    assert body["system"] == "Be brief.\n\nAnswer in English."
    assert body["messages"] == [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
                                {"role": "user", "content": "Q2"}]
    assert body["max_tokens"] == 77 and body["temperature"] == 1.0  # Anthropic's range ends at 1
    assert body["stop_sequences"] == ["END"]
    assert body["tools"] == [{"name": "answer", "description": body["tools"][0]["description"],
                              "input_schema": SCHEMA}]
    assert body["tool_choice"] == {"type": "tool", "name": "answer"}
    assert not {"top_p", "seed", "logprobs", "top_logprobs", "response_format", "stop"} & set(body)
    plain = provider.request_body(chat(("user", "Q")), GenerateConfig(temperature=0.0))
    assert plain["temperature"] == 0.0 and not {"system", "tools", "tool_choice", "stop_sequences"} & set(plain)
    assert provider.batch_line("a" * 64, messages, config) == {"custom_id": "a" * 64, "params": body}
    with pytest.raises(ValueError):
        provider.batch_line("not a valid id!", messages, config)
    assert provider._url == "https://api.anthropic.com/v1" and provider.name == "anthropic/claude-x"
    assert (provider.logprobs, provider.batch, provider.batch_discount, provider.schema_opinions) == (
        False, True, 0.5, False)


def test_response_parsing():
    provider = AnthropicProvider("claude-x", base_url=None, api_key=None, key_env="ANTHROPIC_API_KEY")
    text = provider._completion({"content": [{"type": "text", "text": "Stance: Yes"}, {"type": "text", "text": "!"}],
                                 "stop_reason": "max_tokens",
                                 "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 2}})
    assert text.choice.text == "Stance: Yes!" and text.choice.finish_reason == "length"
    assert (text.usage.input_tokens, text.usage.output_tokens) == (12, 4) and text.choice.logprobs is None
    tool = provider._completion({"content": [{"type": "text", "text": "Here:"},
                                             {"type": "tool_use", "id": "t", "name": "answer",
                                              "input": {"stance": "né"}}],
                                 "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}})
    assert tool.choice.text == '{"stance": "né"}' and tool.choice.finish_reason == "stop"
    with pytest.raises(TransientError):
        provider._completion({"type": "error"})


async def test_complete_text_and_tool_answers(stub, make):
    provider = make("claude-stub", stub.base_url)
    out = await provider.complete(chat(("system", "Be brief."), ("user", "Should zoos close?")),
                                  GenerateConfig(seed=4, top_p=0.5))
    assert out.choice.text == "stub answer to: Should zoos close?" and out.choice.finish_reason == "stop"
    assert out.usage.input_tokens > 0 and out.raw["type"] == "message"
    sent = stub.bodies[-1]
    assert sent["system"] == "Be brief." and "top_p" not in sent and "seed" not in sent
    structured = await provider.complete(chat(("user", "Should zoos close?")), GenerateConfig(json_schema=SCHEMA))
    assert structured.choice.parse_json()["stance"] in ("yes", "no", "neutral")
    sim = make("sim-a", stub.base_url)
    opinion = await sim.complete(chat(("user", "Should zoos close?\nGive your own opinion.")), GenerateConfig())
    assert opinion.choice.text.startswith("Stance: ")
    await provider.preflight()


async def test_overloaded_is_retried_by_the_pipeline(stub, make):
    ledger = Ledger()
    limits = Limits(backoff_base=0.01, backoff_max=0.02)
    model = Model(make("overloaded-2", stub.base_url), limits=limits, cache=None, ledger=ledger)
    out = await model.generate("Should zoos close?")
    assert out.text.startswith("stub answer") and ledger.total().retries == 2 and ledger.total().calls == 1
    stubborn = Model(make("overloaded-9", stub.base_url), limits=limits.model_copy(update={"max_retries": 1}),
                     cache=None, ledger=ledger)
    with pytest.raises(ModelCallError) as info:
        await stubborn.generate("Should zoos close?")
    assert info.value.retryable and info.value.status == 529 and "overloaded_error" in str(info.value)


async def test_rate_limit_carries_retry_after(stub, make):
    with pytest.raises(TransientError) as info:
        await make("ratelimit-1", stub.base_url).complete(as_messages("q"), GenerateConfig())
    assert info.value.status == 429 and info.value.retry_after == 1.0


async def test_refused_key_names_the_variable_and_hides_the_key(stub, make):
    secret = "sk-ant-api03-SECRETSECRET0123456789"
    provider = make("claude-stub", stub.base_url, api_key=secret)
    for call in (lambda: provider.complete(as_messages("q"), GenerateConfig()), provider.preflight):
        with pytest.raises(ModelCallError) as info:
            await call()
        assert not isinstance(info.value, TransientError) and info.value.status == 401
        assert "$ANTHROPIC_API_KEY" in str(info.value) and "SECRET" not in str(info.value)
    model = Model(provider, limits=Limits(backoff_base=0.01), cache=None, ledger=Ledger())
    with pytest.raises(ModelCallError) as info:
        await model.generate("q")
    assert "SECRET" not in str(info.value) and model.ledger.total().retries == 0


async def test_final_and_connection_errors(stub, make):
    with pytest.raises(ModelCallError) as info:
        await make("missing", stub.base_url).complete(as_messages("q"), GenerateConfig())
    assert not isinstance(info.value, TransientError) and info.value.status == 404 and "'missing'" in str(info.value)
    closed = await AnthropicStub().start()
    url = closed.base_url
    await closed.stop()
    gone = make("claude-stub", url)
    with pytest.raises(TransientError):
        await gone.complete(as_messages("q"), GenerateConfig())
    with pytest.raises(ModelCallError, match="cannot reach"):
        await gone.preflight(timeout=2)


async def test_model_refusing_temperature_is_sent_none(stub, make):
    provider = make("nosampling-opus", stub.base_url)
    out = await provider.complete(as_messages("q"), GenerateConfig(temperature=0.3))
    assert out.choice.text.startswith("stub answer") and provider.temperature_refused
    await provider.complete(as_messages("q2"), GenerateConfig(temperature=0.3))
    assert ["temperature" in b for b in stub.bodies] == [True, False, False]


def _calls(count: int) -> list[tuple[str, list[ChatMessage], GenerateConfig]]:
    out = []
    for i in range(count):
        messages = chat(("user", f"Should policy {i} be adopted?\nGive your own opinion."))
        config = GenerateConfig(seed=i, json_schema=SCHEMA if i % 2 else None)
        out.append((hashlib.sha256(f"call {i}".encode()).hexdigest(), messages, config))
    return out


async def test_batch_submit_poll_and_results(make):
    server = await AnthropicStub(api_key=KEY, batch_delay=0.3, error_every=3, expire_first=True).start()
    try:
        provider = make("sim-a", server.base_url)
        calls = _calls(12)
        batch_id = await provider.submit_batch([provider.batch_line(cid, m, c) for cid, m, c in calls])
        assert server.batches_created == 1
        status = await provider.batch_status(batch_id)
        assert (status.state, status.done, status.total) == ("running", 0, 12)
        await asyncio.sleep(0.35)
        status = await provider.batch_status(batch_id)
        assert (status.state, status.done, status.total) == ("ended", 12, 12) and "expired 6" in status.detail
        results = await provider.batch_results(batch_id)
        assert set(results.completions) | set(results.errors) == {cid for cid, _, _ in calls}
        assert not set(results.completions) & set(results.errors)
        expired = {cid for cid, _, _ in calls[6:]}
        errored = {cid for cid, _, _ in calls[:6] if server.fails(cid)}
        assert {c for c, e in results.errors.items() if e.startswith("expired")} == expired
        assert {c for c, e in results.errors.items() if e.startswith("errored")} == errored and errored
        for cid, messages, config in calls[:6]:
            if cid in errored:
                continue
            direct = await provider.complete(messages, config)  # the same answer as one call
            assert results.completions[cid].choice.text == direct.choice.text
            if config.json_schema:
                assert json.loads(results.completions[cid].choice.text)["stance"] in ("yes", "no", "neutral")

        # a second batch does not expire; a fresh provider (a resumed run) finds its results too
        second = await provider.submit_batch([provider.batch_line(cid, m, c) for cid, m, c in calls])
        await asyncio.sleep(0.35)
        fresh = make("sim-a", server.base_url)
        again = await fresh.batch_results(second)
        failing = {cid for cid, _, _ in calls if server.fails(cid)}
        assert set(again.errors) == failing and len(again.completions) == 12 - len(failing)
        assert (await fresh.batch_status("msgbatch_nope")).state == "failed"
    finally:
        await server.stop()


async def test_batch_results_url_is_followed_on_the_api_host_only():
    provider = AnthropicProvider("claude-x", base_url="http://127.0.0.1:9/v1", api_key="k", key_env="K")
    provider._results_urls["b1"] = "http://127.0.0.1:9/v1/files/b1.jsonl"
    provider._results_urls["b2"] = "https://elsewhere.example/b2.jsonl"
    assert provider._results_url("b1") == "http://127.0.0.1:9/v1/files/b1.jsonl"
    assert provider._results_url("b2") == "http://127.0.0.1:9/v1/messages/batches/b2/results"
