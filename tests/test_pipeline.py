"""Cache, retries, concurrency and accounting of the one call pipeline, on the mock provider."""

import asyncio

import pytest

from adaem.config import Limits
from adaem.models import GenerateConfig, Ledger, Model, ModelCallError, TransientError
from adaem.models.pipeline import LoopSemaphore, backoff_delay
from adaem.models.providers.mock import MockProvider, register_mock, unregister_mock
from adaem.models.types import as_messages


@pytest.fixture
def scripted():
    names = []

    def register(name, handler):
        names.append(name)
        register_mock(name, handler)

    yield register
    for n in names:
        unregister_mock(n)


async def test_same_call_is_served_from_cache(make_pool):
    pool = make_pool()
    model = pool.get("mock/a")
    first = await model.generate("Should zoos be abolished?", GenerateConfig(seed=1))
    second = await model.generate("Should zoos be abolished?", GenerateConfig(seed=1))
    assert first.text == second.text and not first.cached and second.cached
    assert model.provider.calls == 1
    tally = pool.ledger.total()
    assert (tally.calls, tally.cache_hits) == (1, 1)


@pytest.mark.parametrize(
    "change",
    [{"seed": 2}, {"temperature": 0.5}, {"top_p": 0.5}, {"max_tokens": 9}, {"json_schema": {"type": "object"}}],
)
async def test_sampling_settings_are_part_of_the_key(make_pool, change):
    model = make_pool().get("mock/a")
    base = GenerateConfig(seed=1)
    await model.generate("q", base)
    await model.generate("q", base.model_copy(update=change))
    assert model.provider.calls == 2


async def test_messages_model_and_base_url_are_part_of_the_key(make_pool):
    pool = make_pool()
    a, b = pool.get("mock/a"), pool.get("mock/b")
    await a.generate("q")
    await a.generate([{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}])
    await b.generate("q")
    assert a.provider.calls == 2 and b.provider.calls == 1
    k1 = a.key(as_messages("q"), GenerateConfig(), 0)
    k2 = k1.model_copy(update={"base_url": "http://other/v1"})
    assert k1.digest() != k2.digest()


async def test_samples_are_cached_by_index(make_pool):
    model = make_pool().get("mock/a")
    two = await model.generate("q", GenerateConfig(seed=5, num_samples=2))
    assert len(two.choices) == 2 and two.choices[0].text != two.choices[1].text
    three = await model.generate("q", GenerateConfig(seed=5, num_samples=3))
    assert [c.text for c in three.choices[:2]] == [c.text for c in two.choices]
    assert model.provider.calls == 3  # only the third sample was new


async def test_runs_at_adjacent_seeds_share_no_samples(make_pool):
    """A parse retry is sample 1; at seed + 1 it would be the first answer of a run seeded one higher, so two
    "independent" runs would share answers (seen: 12 of 64 answers of a seed-1 retest were the seed-0 run's)."""
    seeds = {(s, i): GenerateConfig(seed=s).for_sample(i).seed for s in range(50) for i in range(4)}
    assert len(set(seeds.values())) == len(seeds)
    assert all(seeds[(s, 0)] == s for s in range(50))  # sample 0 keeps the seed, so earlier caches still answer
    assert GenerateConfig(seed=None).for_sample(2).seed is None
    assert all(0 <= v < 2**31 for v in seeds.values())
    model = make_pool().get("mock/a")
    zero = await model.generate("q", GenerateConfig(seed=0, num_samples=2))
    one = await model.generate("q", GenerateConfig(seed=1))
    assert one.choices[0].text != zero.choices[1].text and model.provider.calls == 3


async def test_errors_are_never_cached(make_pool, scripted):
    attempts = []

    def flaky(messages, config):
        attempts.append(1)
        if len(attempts) == 1:
            raise TransientError("boom")
        return "fine"

    scripted("flaky", flaky)
    pool = make_pool(limits={"max_retries": 0})
    model = pool.get("mock/flaky")
    with pytest.raises(ModelCallError, match="gave up after 1 attempt"):
        await model.generate("q")
    assert len(pool.cache) == 0
    assert (await model.generate("q")).text == "fine"
    assert len(pool.cache) == 1 and pool.ledger.total().errors == 1


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_means_what_it_says(make_pool, scripted, max_retries, monkeypatch):
    attempts = []

    def down(messages, config):
        attempts.append(1)
        raise TransientError("HTTP 503", status=503)

    scripted("down", down)
    monkeypatch.setattr("adaem.models.pipeline.asyncio.sleep", _no_sleep)
    model = make_pool(limits={"max_retries": max_retries}).get("mock/down")
    with pytest.raises(ModelCallError):
        await model.generate("q")
    assert len(attempts) == max_retries + 1


async def _no_sleep(_seconds):
    return None


async def test_retry_after_is_honoured(make_pool, scripted, monkeypatch):
    slept = []

    async def record_sleep(seconds):
        slept.append(seconds)

    calls = []

    def limited(messages, config):
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("HTTP 429", retry_after=7.5, status=429)
        return "ok"

    scripted("limited", limited)
    monkeypatch.setattr("adaem.models.pipeline.asyncio.sleep", record_sleep)
    pool = make_pool(limits={"max_retries": 5, "backoff_base": 0.01, "backoff_max": 0.02})
    assert (await pool.get("mock/limited").generate("q")).text == "ok"
    assert slept == [7.5, 7.5]
    assert pool.ledger.total().retries == 2


def test_backoff_is_exponential_with_full_jitter():
    assert backoff_delay(0, 1.0, 60.0, rand=lambda: 1.0) == 1.0
    assert backoff_delay(3, 1.0, 60.0, rand=lambda: 1.0) == 8.0
    assert backoff_delay(10, 1.0, 60.0, rand=lambda: 1.0) == 60.0  # capped
    assert backoff_delay(3, 1.0, 60.0, rand=lambda: 0.0) == 0.0
    assert all(0 <= backoff_delay(a, 0.5, 10) <= 10 for a in range(20))


async def test_timeout_is_a_retryable_failure(make_pool, scripted, monkeypatch):
    async def hang(messages, config):
        await asyncio.sleep(10)

    scripted("hang", hang)
    model = make_pool(limits={"timeout": 0.05, "max_retries": 1, "backoff_base": 0}).get("mock/hang")
    with pytest.raises(ModelCallError, match="no answer within 0.05s.*gave up after 2 attempts"):
        await model.generate("q")


async def test_per_model_concurrency_limit_and_real_parallelism_across_models(make_pool, scripted):
    busy: dict[str, int] = {}
    peak_models = [0]

    def slow(name):
        async def handler(messages, config):
            busy[name] = busy.get(name, 0) + 1
            peak_models[0] = max(peak_models[0], sum(1 for v in busy.values() if v > 0))
            await asyncio.sleep(0.02)
            busy[name] -= 1
            return "ok"

        return handler

    names = [f"remote{i}" for i in range(4)]
    for n in names:
        scripted(n, slow(n))
    pool = make_pool(cache=False, limits={"max_concurrency": 3})
    models = [pool.get(f"mock/{n}") for n in names]
    await asyncio.gather(*(m.generate(f"q{i}") for m in models for i in range(12)))
    assert all(m.peak_in_flight == 3 for m in models)  # each model filled, never exceeded, its limit
    assert peak_models[0] == 4  # all four models were busy at the same moment


async def test_in_process_models_share_cpu_slots(scripted):
    """Models that compute on this machine's cores (local/) take turns, whatever their own limits."""
    running = []
    peak = [0]

    async def compute(messages, config):
        running.append(1)
        peak[0] = max(peak[0], len(running))
        await asyncio.sleep(0.01)
        running.pop()
        return "ok"

    shared = LoopSemaphore(1)
    models = []
    for name in ("cpu1", "cpu2"):
        scripted(name, compute)
        provider = MockProvider(name)
        provider.shares_cpu = True
        models.append(Model(provider, limits=Limits(max_concurrency=4), cache=None, ledger=Ledger(), cpu_slots=shared))
    await asyncio.gather(*(m.generate(f"q{i}") for m in models for i in range(6)))
    assert peak[0] == 1


async def test_accounting_per_model_role_and_cost(make_pool):
    pool = make_pool(prices={"mock/a": {"input": 1_000_000, "output": 2_000_000}})
    out = await pool.get("mock/a").generate("one two three", role="judge")
    await pool.get("mock/a").generate("one two three", role="judge")
    await pool.get("mock/b").generate("x", role="explorer")
    by_model = pool.ledger.by("model")
    assert by_model["mock/a"].calls == 1 and by_model["mock/a"].cache_hits == 1
    assert by_model["mock/a"].cost == pytest.approx(3 * 1 + out.usage.output_tokens * 2)
    assert set(pool.ledger.by("role")) == {"judge", "explorer"}


async def test_structured_output_from_mock_matches_schema(make_pool):
    schema = {"type": "object", "properties": {"stance": {"enum": ["yes", "no", "neutral"]},
                                                "values": {"type": "array", "items": {"type": "string"}}},
              "required": ["stance", "values"]}
    out = await make_pool().get("mock/a").generate("q", GenerateConfig(json_schema=schema))
    parsed = out.choices[0].parse_json()
    assert parsed["stance"] in ("yes", "no", "neutral") and isinstance(parsed["values"], list)


# -- several prompts at once (generate_many) -----------------------------------------------------------------
class BatchingMock(MockProvider):
    """A mock that, like the embedded models, evaluates several prompts in one request."""

    batches_prompts = True
    reuses_prefix = True

    def __init__(self, model: str):
        super().__init__(model)
        self.requests: list[int] = []

    async def complete_many(self, calls):
        self.requests.append(len(calls))
        return await super().complete_many(calls)


def batching_model(tmp_path, name="mock/batching"):
    from adaem.models import CallCache

    ledger = Ledger()
    return Model(BatchingMock(name.split("/")[1]), limits=Limits(max_retries=2, backoff_base=0.001),
                 cache=CallCache(tmp_path / "cache.sqlite"), ledger=ledger), ledger


async def test_generate_many_batches_only_the_cache_misses_and_counts_each_call(tmp_path):
    model, ledger = batching_model(tmp_path)
    config = GenerateConfig(temperature=0, max_tokens=1, seed=0)
    prompts = [f"Is text {i} about tradition? Answer yes or no." for i in range(5)]
    first = await model.generate(prompts[2], config)  # one prompt already cached
    outputs = await model.generate_many(prompts, config)
    assert model.provider.requests == [4]  # one request, the four misses only
    assert [o.cached for o in outputs] == [False, False, True, False, False]
    assert outputs[2].text == first.text
    alone = [await model.generate(p, config) for p in prompts]  # every call was cached under its own key
    assert [o.text for o in alone] == [o.text for o in outputs] and all(o.cached for o in alone)
    tally = ledger.total()
    assert (tally.calls, tally.cache_hits) == (5, 1 + 5)
    assert tally.input_tokens == sum(o.usage.input_tokens for o in outputs) and tally.input_tokens > 0
    again = await model.generate_many(prompts, config)
    assert model.provider.requests == [4] and all(o.cached for o in again)  # nothing left to evaluate


async def test_generate_many_keeps_what_finished_when_one_call_fails(tmp_path, scripted):
    calls = {"n": 0}

    def handler(messages, config):
        calls["n"] += 1
        if "bad" in messages[-1].content:
            raise ModelCallError("mock/flaky: prompt too long")
        if "transient" in messages[-1].content and calls["n"] < 4:
            raise TransientError("mock/flaky: 503")
        return "Yes"

    scripted("flaky", handler)
    model, ledger = batching_model(tmp_path, "mock/flaky")
    prompts = ["fine one", "bad one", "transient one", "fine two"]
    with pytest.raises(ModelCallError, match="too long"):
        await model.generate_many(prompts, GenerateConfig(seed=0))
    tally = ledger.total()
    assert (tally.calls, tally.errors, tally.retries) == (3, 1, 1)  # the transient one was retried on its own
    assert model.provider.requests == [4]
    for p in ("fine one", "transient one", "fine two"):
        assert (await model.generate(p, GenerateConfig(seed=0))).cached


async def test_generate_many_without_batching_is_generate_of_each(make_pool):
    pool = make_pool()
    model = pool.get("mock/a")
    prompts = ["q1", "q2", "q3"]
    outputs = await model.generate_many(prompts, GenerateConfig(seed=3))
    assert [o.text for o in outputs] == [(await model.generate(p, GenerateConfig(seed=3))).text for p in prompts]
    assert model.provider.calls == 3 and pool.ledger.total().cache_hits == 3


async def test_a_batching_judge_labels_as_one_call_at_a_time_does(tmp_path, make_pool):
    from adaem.judge import label_per_value
    from adaem.theories import load_theory

    theory = load_theory("schwartz10")
    model, _ = batching_model(tmp_path, "mock/j")
    plain = make_pool().get("mock/j")
    text = "Festivals hold a town together."
    batched, single = await label_per_value(model, theory, text), await label_per_value(plain, theory, text)
    assert batched.values == single.values and batched.calls == single.calls == 10
    assert model.provider.requests == [10] and plain.provider.calls == 10
