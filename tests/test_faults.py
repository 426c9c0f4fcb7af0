"""The OpenAI-compatible provider against a loopback server that misbehaves: every call ends in a success or
a recorded error, never a crash or a hang, and an API key never shows up in an error or the cache."""

import asyncio
import sqlite3

import pytest

from adaem.models import GenerateConfig, ModelCallError

FAST_RETRIES = {"max_retries": 3, "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 2}


def stub_pool(make_pool, stub, **limits):
    return make_pool(endpoints={"stub": {"base_url": stub.base_url}}, limits={**FAST_RETRIES, **limits})


async def test_plain_and_structured_calls(make_pool, stub):
    model = stub_pool(make_pool, stub).get("stub/ok")
    out = await model.generate("Should zoos be abolished?")
    assert out.text == "stub answer to: Should zoos be abolished?"
    assert out.usage.input_tokens == 4 and out.raw[0]["id"] == "chatcmpl-stub"
    js = await model.generate("q", GenerateConfig(json_schema={"type": "object"}))
    assert js.choices[0].parse_json() == {"stance": "yes"}


async def test_429_with_retry_after_then_success(make_pool, stub):
    pool = stub_pool(make_pool, stub)
    out = await pool.get("stub/ratelimit-1").generate("q")  # server says Retry-After: 1
    assert out.text.startswith("stub answer")
    assert pool.ledger.total().retries == 1


async def test_500_then_success(make_pool, stub):
    pool = stub_pool(make_pool, stub)
    assert (await pool.get("stub/error-2").generate("q")).text.startswith("stub answer")
    assert pool.ledger.total().retries == 2


async def test_persistent_500_is_a_recorded_error(make_pool, stub):
    pool = stub_pool(make_pool, stub, max_retries=1)
    with pytest.raises(ModelCallError, match="HTTP 500.*gave up after 2 attempts"):
        await pool.get("stub/error-9").generate("q")
    assert pool.ledger.total().errors == 1 and len(pool.cache) == 0


async def test_slow_server_times_out_and_does_not_hang(make_pool, stub):
    pool = stub_pool(make_pool, stub, timeout=0.2, max_retries=1)
    with pytest.raises(ModelCallError, match="no answer within 0.2s"):
        await asyncio.wait_for(pool.get("stub/slow").generate("q"), 10)


@pytest.mark.parametrize(("model", "message"), [("truncated", "truncated response"), ("garbage", "malformed")])
async def test_broken_bodies_are_transient_errors(make_pool, stub, model, message):
    pool = stub_pool(make_pool, stub, max_retries=1)
    with pytest.raises(ModelCallError, match=message):
        await pool.get(f"stub/{model}").generate("q")
    assert pool.ledger.total().retries == 1


async def test_unreachable_server_is_an_error_not_a_crash(make_pool):
    pool = make_pool(endpoints={"gone": {"base_url": "http://127.0.0.1:9/v1"}}, limits=FAST_RETRIES)
    with pytest.raises(ModelCallError, match="cannot reach http://127.0.0.1:9/v1"):
        await pool.get("gone/m").generate("q")


async def test_api_key_never_leaks(make_pool, stub, monkeypatch, tmp_path):
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("STUB_API_KEY", secret)
    pool = stub_pool(make_pool, stub)
    with pytest.raises(ModelCallError) as info:
        await pool.get("stub/echo-auth").generate("q")
    assert "refused the API key" in str(info.value) and "$STUB_API_KEY" in str(info.value)
    assert secret not in str(info.value) and "SECRET" not in str(info.value)
    await pool.get("stub/ok").generate("q")  # a success is cached: its row must not hold the key either
    rows = sqlite3.connect(pool.cache.path).execute("SELECT * FROM calls").fetchall()
    assert rows and secret not in repr(rows)


async def test_many_concurrent_calls_through_faults_all_end(make_pool, stub):
    pool = stub_pool(make_pool, stub, max_concurrency=16)
    names = ["ok", "error-1", "ratelimit-1", "garbage"]
    results = await asyncio.gather(
        *(pool.get(f"stub/{n}").generate(f"q{i}") for n in names for i in range(10)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(ok) == 30 and len(failed) == 10
    assert all(isinstance(f, ModelCallError) for f in failed)
