"""Batch mode and replicated endpoints, against loopback fakes of OpenAI's files + batches API.

The fake answers a batch line exactly as its chat route answers the same request (the `sim` models), so a run in
batch mode must give the live run's scores, whatever failed, expired or was killed on the way.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, wait_http
from stub_server import StubServer

from adaem.config import RunConfig
from adaem.evaluation import evaluate_async
from adaem.models.batch import STATE_KEY
from adaem.store import read_state, read_usage

QUESTIONS = ["Should payday loans be banned?", "Should voting be compulsory?", "Should zoos be abolished?",
             "Should cities ban cars from their centres?"]


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS))
    return path


def stub_config(base_url, *, batch: dict | None = None, **endpoint) -> RunConfig:
    return RunConfig.model_validate({
        "roles": {"explorers": ["stub/sim-a", "stub/sim-b"], "judge": "stub/sim-j"},
        "endpoints": {"stub": {"base_url": base_url, "batch": True, **endpoint}},
        "evaluation": {"bootstrap": 10},
        "limits": {"backoff_base": 0.01, "backoff_max": 0.05},
        "batch": {"poll_seconds": 0.05, **(batch or {})},
    })


def answers_of(result) -> list[tuple]:
    frame = result.answers.sort_values(["model", "question_id"])
    return [(r.model, r.question_id, json.dumps(r.vector, sort_keys=True)) for r in frame.itertuples()]


async def test_batch_mode_gives_the_live_scores_through_failures_and_an_expired_batch(tmp_path, bench):
    live_server = await StubServer().start()
    server = await StubServer(batch_delay=0.2, batch_fail_every=5, batch_expire_first=True).start()
    try:
        live = await evaluate_async(bench, stub_config(live_server.base_url), tmp_path / "live")
        batched = await evaluate_async(bench, stub_config(server.base_url, batch={"mode": "api"}), tmp_path / "batch")
    finally:
        await live_server.stop()
        await server.stop()
    assert not batched.failures and not batched.stopped
    assert answers_of(batched) == answers_of(live)
    assert batched.scores[["model", "dimension", "score"]].equals(live.scores[["model", "dimension", "score"]])
    records = read_state(tmp_path / "batch", STATE_KEY)
    assert len(records) == len(server.batches) >= 2  # opinions, then the judge's calls
    assert all(r["state"] == "read" for r in records)
    expired = records[0]
    assert expired["failed"] >= expired["requests"] // 2  # half expired, plus the scripted failures
    # what a batch did not answer was made live, and only that
    usage = read_usage(tmp_path / "batch")
    calls = sum(u["calls"] for u in usage)
    batched_calls = sum(u["batched"] for u in usage)
    assert server.chat_requests == calls - batched_calls > 0
    assert batched_calls == sum(r["answered"] for r in records)


async def test_a_model_without_a_batch_api_runs_live_in_the_same_run(tmp_path, bench):
    server = await StubServer(batch_delay=0.05).start()
    config = stub_config(server.base_url, batch={"mode": "api"})
    config.endpoints["live"] = config.endpoints["stub"].model_copy(update={"batch": False})
    config.roles.judge = "live/sim-j"
    try:
        result = await evaluate_async(bench, config, tmp_path / "run")
    finally:
        await server.stop()
    assert not result.failures
    usage = {(u["model"], u["role"]): u for u in read_usage(tmp_path / "run")}
    assert usage[("live/sim-j", "judge")]["batched"] == 0 < usage[("live/sim-j", "judge")]["calls"]
    assert usage[("stub/sim-a", "target")]["batched"] == usage[("stub/sim-a", "target")]["calls"] > 0


async def test_a_server_without_batch_routes_falls_back_to_live_calls(tmp_path, bench, monkeypatch):
    server = await StubServer().start()
    monkeypatch.setattr(StubServer, "_batch_api", lambda *a: (404, {"error": {"message": "not found"}}))
    try:
        result = await evaluate_async(bench, stub_config(server.base_url, batch={"mode": "api"}), tmp_path / "run")
    finally:
        await server.stop()
    assert not result.failures and len(result.answers) == 8
    assert sum(u["batched"] for u in read_usage(tmp_path / "run")) == 0


def write_outputs(directory: Path) -> int:
    """What vLLM's run_batch does with an exported file, done by the fake's answering code: one output line per
    input line, OpenAI's batch output format."""
    count = 0
    for path in directory.glob("*.input.jsonl"):
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        with open(path.with_name(path.name.replace(".input.", ".output.")), "w") as fh:
            for i, line in enumerate(lines):
                body = StubServer._completion(line["body"])
                fh.write(json.dumps({"id": f"vllm-{i}", "custom_id": line["custom_id"], "error": None,
                                     "response": {"status_code": 200, "request_id": f"r{i}", "body": body}}) + "\n")
                count += 1
    return count


async def test_export_then_import_gives_the_live_scores(tmp_path, bench):
    live_server = await StubServer().start()
    try:
        live = await evaluate_async(bench, stub_config(live_server.base_url), tmp_path / "live")
    finally:
        await live_server.stop()
    files = tmp_path / "files"
    # no server at all: the exported model is only ever run offline
    config = stub_config("http://127.0.0.1:9/v1", batch={"mode": "export", "export_dir": str(files),
                                                         "import_dir": str(files)})
    run = tmp_path / "run"
    files.mkdir()
    rounds = 0
    while True:
        result = await evaluate_async(bench, config, run, resume=rounds > 0)
        if not result.stopped:
            break
        assert "requests written to" in result.stopped
        assert write_outputs(files) > 0
        rounds += 1
        assert rounds < 8
    assert rounds >= 2  # opinions, then judge calls
    assert answers_of(result) == answers_of(live)
    manifest = json.loads((files / "manifest.json").read_text())
    assert set(manifest.values()) == {"stub/sim-a", "stub/sim-b", "stub/sim-j"}


def _stats(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url + "/stub/stats", timeout=5).read())


@pytest.mark.parametrize("kill", [False, True])
def test_a_killed_run_reattaches_to_its_batches(tmp_path, bench, kill):
    """Kill -9 while the first batch is being waited for: the resumed run reads that batch, creates no new batch
    for its requests, and ends with as many batches as an uninterrupted run."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "stub_server.py"), "--port", str(port),
                               "--batch-delay", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(url + "/models", server)
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps(stub_config(url, batch={"poll_seconds": 0.2}).model_dump(mode="json")))
        run = tmp_path / "run"
        args = [sys.executable, "-m", "adaem", "evaluate", "-b", str(bench), "--config", str(config), "--out", str(run),
                "--batch"]
        if kill:
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.time() + 120
            while _stats(url)["batches_created"] < 1 and time.time() < deadline and proc.poll() is None:
                time.sleep(0.1)
            time.sleep(0.3)  # its id is in the run state before polling starts
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            assert _stats(url)["batches_created"] >= 1
            args = [*args, "--resume"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        created = _stats(url)["batches_created"]
        records = read_state(run, STATE_KEY)
        assert len(records) == created and all(r["state"] == "read" for r in records)
        assert _stats(url)["chat_requests"] == 0  # every call was answered by a batch
        # a batch per model and round: opinions of sim-a and sim-b with sim-j's question labels, then sim-j's answer
        # labels. The killed run created none twice.
        assert created == 4
    finally:
        server.kill()
        server.wait()


async def test_replicas_share_the_work_and_survive_one_dying(tmp_path, bench):
    servers = [await StubServer(latency=0.02).start() for _ in range(3)]
    config = stub_config([s.base_url for s in servers], batch=None)
    # logprobs known: no preflight probe, so every request the servers count is a call or a retry
    config.endpoints["stub"] = config.endpoints["stub"].model_copy(update={"batch": False, "logprobs": True})
    config.limits = config.limits.model_copy(update={"max_concurrency": 2, "replica_cooldown": 0.5})
    config.roles.explorers = config.roles.scorers = config.roles.targets = ["stub/sim-a", "stub/sim-b", "stub/sim-c"]

    async def kill_one() -> None:
        while servers[2].chat_requests < 20:
            await asyncio.sleep(0.01)
        await servers[2].kill()

    killer = asyncio.ensure_future(kill_one())
    try:
        result = await evaluate_async(bench, config, tmp_path / "run")
    finally:
        killer.cancel()
        for s in servers:
            await s.stop()
    assert not result.failures and len(result.answers) == 12
    rows = read_state(tmp_path / "run", "replicas/1")  # per model and replica
    answered = [sum(r["calls"] for r in rows if r["url"] == s.base_url) for s in servers]
    errors = sum(r["errors"] for r in rows)
    assert all(a > 0 for a in answered)
    assert answered[2] < min(answered[:2])  # dead after its first 20 calls
    calls = sum(u["calls"] for u in read_usage(tmp_path / "run"))
    assert sum(answered) == calls  # each call answered once: nothing that had succeeded was repeated
    # requests sent again are only those the dead replica took and never answered
    assert 0 <= sum(s.chat_requests for s in servers) - calls <= errors


async def test_anthropic_message_batches_give_the_live_scores(tmp_path, bench, monkeypatch):
    """The native anthropic/ provider: no log-probabilities (labels from the judge's text), JSON through a tool,
    Message Batches with errored and expired requests redone live."""
    from anthropic_stub import AnthropicStub

    monkeypatch.setenv("ANTHROPIC_API_KEY", "stub-key")
    servers = [await AnthropicStub().start(), await AnthropicStub(batch_delay=0.1, error_every=4,
                                                                  expire_first=True).start()]

    def config(url: str, mode: str) -> RunConfig:
        return RunConfig.model_validate({
            "roles": {"explorers": ["anthropic/sim-a", "anthropic/sim-b"], "judge": "anthropic/sim-j"},
            "endpoints": {"anthropic": {"base_url": url, "logprobs": False, "batch": True}},
            "evaluation": {"bootstrap": 10}, "limits": {"backoff_base": 0.01, "backoff_max": 0.05},
            "batch": {"mode": mode, "poll_seconds": 0.05}})

    try:
        live = await evaluate_async(bench, config(servers[0].base_url, "off"), tmp_path / "live")
        batched = await evaluate_async(bench, config(servers[1].base_url, "api"), tmp_path / "batch")
    finally:
        for s in servers:
            await s.stop()
    assert not live.failures and not batched.failures
    assert answers_of(batched) == answers_of(live)
    assert all(r["state"] == "read" for r in read_state(tmp_path / "batch", STATE_KEY))
    assert servers[1].batches_created >= 2
    usage = read_usage(tmp_path / "batch")
    assert 0 < sum(u["batched"] for u in usage) < sum(u["calls"] for u in usage)  # failed ones went live


async def test_compare_and_prime_run_in_batch_mode_with_the_live_results(tmp_path, bench):
    """compare and prime have evaluate's shape (units through the same loop): batch mode changes nothing but
    the route the calls take."""
    from adaem.analysis.compare import compare_sets_async
    from adaem.analysis.priming import priming_async

    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({"question": q.replace("Should", "Must")}) + "\n" for q in QUESTIONS))
    results = {}
    for mode in ("off", "api"):
        server = await StubServer(batch_delay=0.05).start()
        try:
            config = stub_config(server.base_url, batch={"mode": mode})
            results[mode] = (
                await compare_sets_async([bench, other], config, tmp_path / f"compare-{mode}"),
                await priming_async(bench, config, tmp_path / f"prime-{mode}", model="stub/sim-a",
                                    dimensions=["security"], limit=3),
                len(server.batches))
        finally:
            await server.stop()
    (compare_live, prime_live, _), (compare_batch, prime_batch, batches) = results["off"], results["api"]
    assert batches >= 4
    assert compare_batch.scores.equals(compare_live.scores)
    assert prime_batch.effects.equals(prime_live.effects)


def test_the_paper_scale_example_estimates_two_million_judge_calls_and_halves_batch_prices():
    from adaem.config import load_config
    from adaem.estimate import estimate_evaluate, totals

    path = Path(__file__).parents[1] / "examples" / "paper-scale.yaml"
    live = estimate_evaluate(load_config(path), 12310)
    batched = estimate_evaluate(load_config(path, ["batch.mode=api"]), 12310)
    judge = next(r for r in live if r.role == "judge")
    assert judge.calls == 12310 * 17 * 10  # 16 answers and the question, 10 values each
    by_model = {r.model: r.cost for r in batched if r.role == "target"}
    live_cost = {r.model: r.cost for r in live if r.role == "target"}
    assert by_model["openai/gpt-4o"] == pytest.approx(live_cost["openai/gpt-4o"] / 2)  # a batch API
    assert by_model["deepseek/deepseek-flash"] == live_cost["deepseek/deepseek-flash"]  # none
    assert totals(batched).cost < totals(live).cost


def test_presets_declare_what_their_servers_do(monkeypatch):
    """Groq refuses logprobs (HTTP 400), Fireworks gives at most 5 alternatives: the request says only what the
    server takes, and the judge then reads labels from the answer text."""
    from adaem.models import GenerateConfig
    from adaem.models.pool import build_provider

    for key in ("GROQ_API_KEY", "FIREWORKS_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(key, "k")
    config = RunConfig()
    judge_call = GenerateConfig(temperature=0, max_tokens=3, logprobs=True, top_logprobs=10)
    groq = build_provider("groq/llama-3.3-70b-versatile", config)
    assert not groq.logprobs and groq.batch and "logprobs" not in groq.request_body([], judge_call)
    fireworks = build_provider("fireworks/llama", config)
    assert fireworks.request_body([], judge_call)["top_logprobs"] == 5 and not fireworks.batch
    gemini = build_provider("gemini/gemini-2.5-flash", config)
    assert gemini.base_url.startswith("https://generativelanguage.googleapis.com") and not gemini.logprobs
