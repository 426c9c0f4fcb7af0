"""Requests follow each vendor's documented parameters, and reasoning models are first-class: against loopback fakes
that refuse what the real services refuse (vendor_rules.py cites the documentation of each rule)."""

import json

import pytest
from stub_server import StubServer
from vendor_rules import REASONING_TOKENS

from adaem.config import PRESET_ENDPOINTS, RunConfig
from adaem.evaluation import evaluate_async
from adaem.models import GenerateConfig, ModelCallError
from adaem.models.pool import build_provider
from adaem.store import read_usage

JUDGE_CALL = GenerateConfig(temperature=0, max_tokens=3, seed=0, logprobs=True, top_logprobs=10)
OPINION_CALL = GenerateConfig(temperature=1.0, top_p=0.95, max_tokens=224, seed=7)
JUDGE_PROMPT = [{"role": "user", "content": "Does the text express security? Answer yes or no."}]
FAST = {"max_retries": 0, "backoff_base": 0.01, "backoff_max": 0.02, "timeout": 10}


@pytest.fixture
async def vendor():
    servers = []

    async def start(dialect, **kw):
        servers.append(await StubServer(dialect=dialect, **kw).start())
        return servers[-1]

    yield start
    for s in servers:
        await s.stop()


# -- the request a preset builds ------------------------------------------------------------------------------
async def test_mistral_gets_random_seed_and_no_field_it_refuses(make_pool, vendor, monkeypatch):
    server = await vendor("mistral")
    monkeypatch.setenv("MISTRAL_BASE_URL", server.base_url)
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    pool = make_pool(limits=FAST)
    model = pool.get("mistral/sim-large")
    out = await model.generate(JUDGE_PROMPT, JUDGE_CALL)
    assert out.text in ("Yes", "No")
    schema = {"type": "object", "properties": {"stance": {"enum": ["yes", "no"]}}, "required": ["stance"]}
    await model.generate("Should zoos close?", OPINION_CALL.model_copy(update={"json_schema": schema}))
    sent = server.bodies
    assert all("seed" not in b and "logprobs" not in b and "max_completion_tokens" not in b for b in sent)
    assert sent[0]["random_seed"] == 0 and sent[1]["random_seed"] == 7
    assert sent[1]["response_format"]["json_schema"]["schema"] == schema


async def test_a_field_mistral_does_not_define_is_a_clear_final_error(make_pool, vendor, monkeypatch):
    """What every mistral/ call did before: `seed` sent, HTTP 422, the field named in the error."""
    server = await vendor("mistral")
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    pool = make_pool(limits=FAST, endpoints={"mistral": {**PRESET_ENDPOINTS["mistral"].model_dump(),
                                                         "base_url": server.base_url, "seed_field": "seed"}})
    with pytest.raises(ModelCallError, match=r"HTTP 422.*seed: Extra inputs are not permitted.*endpoints\.mistral"):
        await pool.get("mistral/sim-large").generate("q", OPINION_CALL)
    assert len(server.bodies) == 1  # final: not retried


async def test_openai_chat_model_gets_max_completion_tokens_and_log_probabilities(make_pool, vendor, monkeypatch):
    server = await vendor("openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    out = await make_pool(limits=FAST).get("openai/gpt-4o-sim").generate(JUDGE_PROMPT, JUDGE_CALL)
    body = server.bodies[0]
    assert body["max_completion_tokens"] == 3 and "max_tokens" not in body
    assert body["temperature"] == 0 and body["logprobs"] is True and body["top_logprobs"] == 10
    assert out.usage.reasoning_tokens == 0


# -- reasoning models -----------------------------------------------------------------------------------------
async def test_openai_reasoning_model_is_called_as_documented(make_pool, vendor, monkeypatch):
    """o3-mini-like: no temperature / top_p / logprobs (400 otherwise), hidden reasoning out of
    max_completion_tokens (which gets the documented allowance), its tokens in the accounting."""
    server = await vendor("openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    pool = make_pool(limits=FAST)
    model = pool.get("openai/o3-sim-j")
    assert model.provider.reasoning and not model.provider.logprobs
    out = await model.generate(JUDGE_PROMPT, JUDGE_CALL, role="judge")
    assert out.text in ("Yes", "No") and out.choices[0].logprobs is None  # the judge reads the text
    body = server.bodies[0]
    assert not {"temperature", "top_p", "logprobs", "top_logprobs", "stop", "max_tokens"} & set(body)
    assert body["max_completion_tokens"] == 3 + 25_000
    assert out.usage.reasoning_tokens == REASONING_TOKENS
    assert pool.ledger.total().reasoning_tokens == REASONING_TOKENS


async def test_a_reasoning_model_without_room_to_answer_is_a_final_error(make_pool, vendor, monkeypatch):
    """A small max_completion_tokens is spent on reasoning and the answer is empty: not an answer to parse (and
    cache), but an error naming the setting."""
    server = await vendor("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    endpoint = {**PRESET_ENDPOINTS["openai"].model_dump(), "base_url": server.base_url}
    endpoint["reasoning"]["allowance"] = 0
    pool = make_pool(limits=FAST, endpoints={"openai": endpoint})
    with pytest.raises(ModelCallError, match=r"reasoning used the whole token cap.*reasoning\.allowance"):
        await pool.get("openai/o3-sim-j").generate(JUDGE_PROMPT, JUDGE_CALL)
    assert len(pool.cache) == 0


async def test_deepseek_thinks_by_default_and_not_when_declared_chat(make_pool, vendor, monkeypatch):
    server = await vendor("deepseek")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "k")
    pool = make_pool(limits=FAST, model_info={"deepseek/sim-flash": {"kind": "chat"}})
    reasoner = pool.get("deepseek/sim-pro")
    out = await reasoner.generate(JUDGE_PROMPT, JUDGE_CALL)
    assert out.text in ("Yes", "No") and "step by step" not in out.text
    assert "step by step" in out.raw[0]["choices"][0]["message"]["reasoning_content"]  # kept in the record
    assert out.usage.reasoning_tokens == REASONING_TOKENS
    assert not {"logprobs", "top_logprobs", "temperature", "top_p"} & set(server.bodies[0])
    assert server.bodies[0]["max_tokens"] == 3 + 32_768
    chat = pool.get("deepseek/sim-flash")
    out = await chat.generate(JUDGE_PROMPT, JUDGE_CALL)
    assert server.bodies[1]["thinking"] == {"type": "disabled"} and server.bodies[1]["logprobs"] is True
    assert out.usage.reasoning_tokens == 0
    # thinking off is another call than thinking on: its own cache key
    assert chat.key([], JUDGE_CALL, 0).digest() != chat.key([], JUDGE_CALL, 0).model_copy(
        update={"variant": None}).digest()


@pytest.mark.parametrize(("message", "answer", "reasoning"), [
    ({"content": "<think>\nweigh it\n</think>\n\nYes"}, "Yes", "\nweigh it\n"),
    ({"content": "weigh it</think>Yes"}, "Yes", "weigh it"),  # DeepSeek-R1's first release: no opening tag
    ({"content": "<think>still weighing"}, "", "still weighing"),  # cut by the cap: all reasoning
    ({"content": "Yes", "reasoning_content": "weigh it"}, "Yes", "weigh it"),
    ({"content": "Yes", "reasoning": "weigh it"}, "Yes", "weigh it"),  # current vLLM, OpenRouter
    ({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "weigh it"}]},
                  {"type": "text", "text": "Yes"}]}, "Yes", "weigh it"),  # Mistral's Magistral
    ({"content": "No <think> here, just text"}, "No <think> here, just text", ""),
])
def test_reasoning_is_taken_out_of_every_shape_vendors_return(message, answer, reasoning):
    from adaem.models.reasoning import message_answer

    assert message_answer(message) == (answer, reasoning)


def test_split_think_keeps_plain_text():
    from adaem.models.reasoning import split_think

    assert split_think("Stance: Yes\n1. a point") == ("Stance: Yes\n1. a point", "")


async def test_think_tags_and_reasoning_fields_never_reach_the_parser(make_pool, vendor):
    server = await vendor(None)
    pool = make_pool(limits=FAST, endpoints={"box": {"base_url": server.base_url}})
    raw = await pool.get("box/think-sim-a").generate(JUDGE_PROMPT, JUDGE_CALL)
    field = await pool.get("box/sim-r1-a").generate(JUDGE_PROMPT, JUDGE_CALL)
    assert raw.text in ("Yes", "No") and field.text in ("Yes", "No")
    assert raw.usage.reasoning_tokens > 0 and field.usage.reasoning_tokens > 0


def test_reasoning_is_declared_or_recognised_by_documented_names():
    from adaem.models.providers.dialect import Dialect

    openai = PRESET_ENDPOINTS["openai"]
    assert Dialect.of(openai, "o3-mini").reasoning and Dialect.of(openai, "gpt-5-mini").reasoning
    assert not Dialect.of(openai, "gpt-5-chat-latest").reasoning and not Dialect.of(openai, "gpt-4o").reasoning
    assert Dialect.of(openai, "gpt-4o", "reasoning").reasoning and not Dialect.of(openai, "o3", "chat").reasoning
    vllm = PRESET_ENDPOINTS["vllm"]
    for name in ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "Qwen/QwQ-32B", "Qwen/Qwen3-8B", "openai/gpt-oss-20b",
                 "Qwen/Qwen3-30B-A3B-Thinking-2507"):
        assert Dialect.of(vllm, name).reasoning, name
    for name in ("Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-30B-A3B-Instruct-2507"):
        assert not Dialect.of(vllm, name).reasoning, name


# -- presets tell the truth ---------------------------------------------------------------------------------
def test_sglang_has_no_batch_api_and_estimate_gives_it_no_discount():
    from adaem.estimate import estimate_evaluate

    assert not PRESET_ENDPOINTS["sglang"].batch  # removed in sgl-project/sglang#7400
    config = RunConfig.model_validate({"roles": {"explorers": ["sglang/m"], "judge": "mock/j"},
                                       "prices": {"sglang/m": {"input": 1, "output": 1}}, "batch": {"mode": "api"}})
    live = RunConfig.model_validate({**config.model_dump(), "batch": {"mode": "off"}})
    cost = {r.role: r.cost for r in estimate_evaluate(config, 100)}
    assert cost["target"] == {r.role: r.cost for r in estimate_evaluate(live, 100)}["target"] > 0


def test_estimate_counts_reasoning_tokens_of_reasoning_models():
    from adaem.estimate import estimate_evaluate

    config = RunConfig.model_validate({"roles": {"explorers": ["openai/o3-mini", "openai/gpt-4o"], "judge": "mock/j"},
                                       "endpoints": {"openai": {**PRESET_ENDPOINTS["openai"].model_dump(),
                                                                "reasoning": {"models": ["o3.*"], "expected": 500}}}})
    rows = {r.model: r for r in estimate_evaluate(config, 10) if r.role == "target"}
    assert rows["openai/o3-mini"].reasoning_tokens == 10 * 500
    assert rows["openai/o3-mini"].output_tokens == rows["openai/gpt-4o"].output_tokens + 10 * 500
    assert rows["openai/gpt-4o"].reasoning_tokens == 0


def test_every_preset_builds_a_body_of_only_its_declared_fields(monkeypatch):
    """No preset sends a field its declaration leaves out (seed name, cap name, log-probabilities)."""
    from adaem.models.providers.dialect import Dialect

    config = RunConfig()
    for name, endpoint in PRESET_ENDPOINTS.items():
        if name == "anthropic":
            continue
        monkeypatch.setenv(endpoint.key_env(name), "k")
        body = build_provider(f"{name}/some-chat-model", config).request_body([], JUDGE_CALL)
        assert endpoint.max_tokens_field in body and {"max_tokens", "max_completion_tokens"} - {
            endpoint.max_tokens_field} & set(body) == set()
        assert (endpoint.seed_field in body) if endpoint.seed_field else "seed" not in body
        reasoning = Dialect.of(endpoint, "some-chat-model").reasoning
        assert ("logprobs" in body) == (endpoint.logprobs and not reasoning), name


# -- a whole evaluation through reasoning models ----------------------------------------------------------------
async def test_evaluate_with_reasoning_targets_and_judge(tmp_path, vendor, monkeypatch):
    """An o3-mini-like judge (labels from its text, no log-probabilities), a DeepSeek reasoner and a Mistral target:
    every call is accepted by fakes that refuse what the vendors refuse, and reasoning tokens are accounted."""
    servers = {d: await vendor(d) for d in ("openai", "deepseek", "mistral")}
    for name, server in servers.items():
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", server.base_url)
        monkeypatch.setenv(f"{name.upper()}_API_KEY", "k")
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"question": q}) + "\n" for q in
                             ["Should payday loans be banned?", "Should voting be compulsory?"]))
    config = RunConfig.model_validate({
        "roles": {"explorers": ["deepseek/sim-pro", "mistral/sim-large"], "judge": "openai/o3-sim-j"},
        "evaluation": {"bootstrap": 5}, "limits": FAST})
    result = await evaluate_async(bench, config, tmp_path / "run")
    assert not result.failures and len(result.answers) == 4
    usage = {(u["model"], u["role"]): u for u in read_usage(tmp_path / "run")}
    assert usage[("openai/o3-sim-j", "judge")]["reasoning_tokens"] == REASONING_TOKENS * usage[
        ("openai/o3-sim-j", "judge")]["calls"]
    assert usage[("deepseek/sim-pro", "target")]["reasoning_tokens"] > 0
    assert usage[("mistral/sim-large", "target")]["reasoning_tokens"] == 0
    labels = [v for vec in result.answers.vector for v in vec.values() if v is not None]
    assert labels and set(labels) <= {0.0, 1.0}  # verdicts read from the judge's text
    assert all("temperature" not in b and "logprobs" not in b for b in servers["openai"].bodies)


def test_the_reasoning_models_example_validates_and_declares_what_it_says(monkeypatch):
    from pathlib import Path

    from adaem.config import load_config
    from adaem.estimate import estimate_evaluate

    path = Path(__file__).parents[1] / "examples" / "reasoning-models.yaml"
    config = load_config(path)
    for env in ("OPENAI_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.setenv(env, "k")
    reasoning = {name: build_provider(name, config).reasoning for name in config.roles.targets}
    assert reasoning == {"openai/o3-mini": True, "openai/gpt-5-mini": True, "openai/gpt-4o": False,
                         "deepseek/deepseek-v4-pro": True, "deepseek/deepseek-flash": False,
                         "lab/Qwen/Qwen3-8B": True, "lab/Qwen/Qwen2.5-7B-Instruct": False}
    assert config.model_info["openai/o3-mini"].kind == "reasoning"
    o3 = build_provider("openai/o3-mini", config).request_body([], JUDGE_CALL)
    assert o3["reasoning_effort"] == "low" and "temperature" not in o3
    flash = build_provider("deepseek/deepseek-flash", config).request_body([], JUDGE_CALL)
    assert flash["thinking"] == {"type": "disabled"}
    rows = {r.model: r for r in estimate_evaluate(config, 100) if r.role == "target"}
    assert rows["openai/o3-mini"].reasoning_tokens == 100 * 600 and rows["openai/gpt-4o"].reasoning_tokens == 0


def test_only_a_hybrid_model_declared_chat_is_sent_the_switch():
    from adaem.models.providers.dialect import Dialect

    zhipu = PRESET_ENDPOINTS["zhipu"]
    assert Dialect.of(zhipu, "glm-4.6", "chat").body("glm-4.6", [], JUDGE_CALL)["thinking"] == {"type": "disabled"}
    assert "thinking" not in Dialect.of(zhipu, "glm-4-plus", "chat").body("glm-4-plus", [], JUDGE_CALL)


async def test_an_endpoint_you_name_is_asked_once_for_log_probabilities(make_pool, stub):
    """Issue 37.5: a user-named endpoint's server is asked once, before the run, whether it returns
    log-probabilities; one that does not (the stub) is not asked again, and the run records what it found."""
    pool = make_pool(limits=FAST, endpoints={"mine": {"base_url": stub.base_url}})
    await pool.preflight(["mine/sim-j"])
    model = pool.get("mine/sim-j")
    assert model.provider.facts["logprobs"] is False and "no log-probabilities" in model.provider.facts["probe"]
    assert stub.bodies[0]["logprobs"] is True and stub.bodies[0]["max_tokens"] == 1  # the probe
    await model.generate(JUDGE_PROMPT, JUDGE_CALL)
    assert "logprobs" not in stub.bodies[-1]  # not asked again
    assert pool.endpoint_facts() == [{"model": "mine/sim-j", **model.provider.facts}]
    declared = make_pool(limits=FAST, endpoints={"told": {"base_url": stub.base_url, "logprobs": True}})
    await declared.preflight(["told/sim-j"])
    assert declared.get("told/sim-j").provider.facts == {}  # declared: nothing asked


async def test_a_reasoning_model_behind_a_named_endpoint_is_told_how_to_declare_it(make_pool, vendor):
    """Issue 37.5: a proxy serving o3-mini answers HTTP 400 to top_p; the error names the model_info fix."""
    server = await vendor("openai")
    pool = make_pool(limits=FAST, endpoints={"proxy": {"base_url": server.base_url, "logprobs": True}})
    with pytest.raises(ModelCallError, match=r"HTTP 400.*model_info: \{proxy/o3-mini: \{kind: reasoning\}\}"):
        await pool.get("proxy/o3-mini").generate("q", OPINION_CALL)
