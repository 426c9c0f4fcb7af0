"""What a real batch service imposes and how a run keeps within it: the vendor's enqueued-token queue, the run's
cost cap in every mode, export/import rounds that end, replicas that hang and batch APIs that go away for a while.
Against loopback fakes of OpenAI's files + batches API that enforce the queue limit as OpenAI documents it."""

import asyncio
import json
from pathlib import Path

import pytest
from stub_server import StubServer

from adaem.config import RunConfig
from adaem.evaluation import evaluate_async
from adaem.models.batch import STATE_KEY
from adaem.store import read_state, read_usage

QUESTIONS = ["Should payday loans be banned?", "Should voting be compulsory?", "Should zoos be abolished?",
             "Should cities ban cars from their centres?"]
MODELS = ["stub/sim-a", "stub/sim-b", "stub/sim-j"]
PRICES = {m: {"input": 100.0, "output": 400.0} for m in MODELS}  # USD per million tokens: a run costs cents


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS))
    return path


def config_for(base_url, *, batch=None, evaluation=None, **fields) -> RunConfig:
    return RunConfig.model_validate({
        "roles": {"explorers": MODELS[:2], "judge": MODELS[2]},
        "endpoints": {"stub": {"base_url": base_url, "batch": True}},
        "evaluation": {"bootstrap": 10, **(evaluation or {})},
        "limits": {"backoff_base": 0.01, "backoff_max": 0.05},
        "batch": {"poll_seconds": 0.05, **(batch or {})},
        **fields,
    })


def answers_of(result) -> list[tuple]:
    frame = result.answers.sort_values(["model", "question_id"])
    return [(r.model, r.question_id, json.dumps(r.vector, sort_keys=True)) for r in frame.itertuples()]


@pytest.fixture
async def live_answers(tmp_path, bench):
    server = await StubServer().start()
    try:
        yield answers_of(await evaluate_async(bench, config_for(server.base_url), tmp_path / "live"))
    finally:
        await server.stop()


def spent(run: Path) -> float:
    return sum(u["cost"] for u in read_usage(run))


# -- the enqueued-token queue ---------------------------------------------------------------------------------
QUEUE = 2500  # tokens the fake's queue holds (a round of judge calls is several times that)


async def test_batches_stay_within_the_queue_and_are_never_moved_live(tmp_path, bench, live_answers):
    """Each model's calls go out in chunks that fit the queue, the next as an earlier one completes: no batch is
    refused, none of the calls runs live (before: one batch a model, refused, then every call live at full price)."""
    server = await StubServer(batch_delay=0.05, queue_limit=QUEUE).start()
    config = config_for(server.base_url, batch={"mode": "api", "max_enqueued_tokens": dict.fromkeys(MODELS, QUEUE)})
    try:
        result = await evaluate_async(bench, config, tmp_path / "run")
    finally:
        await server.stop()
    assert not result.failures and not result.stopped
    assert answers_of(result) == live_answers
    assert server.refused == 0 and 0 < server.peak_enqueued <= QUEUE
    assert server.chat_requests == 0  # every call answered by a batch
    records = read_state(tmp_path / "run", STATE_KEY)
    assert len(records) > 2 * len(MODELS)  # the rounds were cut into chunks
    assert all(r["state"] == "read" and r["tokens"] <= QUEUE for r in records)


async def test_a_refused_batch_is_resubmitted_when_the_queue_frees(tmp_path, bench, live_answers):
    """The account's real limit is lower than configured (or other jobs fill the queue): refused batches wait and
    go out again, under the limit their refusal names; nothing moves to live calls."""
    server = await StubServer(batch_delay=0.05, queue_limit=QUEUE).start()
    config = config_for(server.base_url, batch={"mode": "api",
                                                "max_enqueued_tokens": dict.fromkeys(MODELS, 20 * QUEUE)})
    try:
        result = await evaluate_async(bench, config, tmp_path / "run")
    finally:
        await server.stop()
    assert not result.failures and not result.stopped
    assert answers_of(result) == live_answers
    assert server.refused >= 1 and server.chat_requests == 0
    states = [r["state"] for r in read_state(tmp_path / "run", STATE_KEY)]
    assert "requeued" in states and "failed" not in states


def test_documented_queue_limits_are_the_defaults():
    from adaem.models.batch_quota import limit_from_message, queue_limit

    config = RunConfig()
    assert queue_limit(config, "openai/gpt-4o-mini") == 2_000_000
    assert queue_limit(config, "openai/gpt-4o-mini-2024-07-18") == 2_000_000
    assert queue_limit(config, "openai/gpt-4o") == 90_000
    assert queue_limit(config, "openai/gpt-5-mini") == 5_000_000
    assert queue_limit(config, "openai/some-new-model") == 90_000  # unknown: the smallest documented figure
    assert queue_limit(config, "groq/llama") is None
    tier2 = RunConfig.model_validate({"batch": {"tier": 2, "max_enqueued_tokens": {"openai/gpt-4o": 5}}})
    assert queue_limit(tier2, "openai/gpt-4o-mini") == 20_000_000 and queue_limit(tier2, "openai/gpt-4o") == 5
    assert queue_limit(tier2, "openai/gpt-5-mini") == 5_000_000  # tier 2 undocumented: tier 1's figure
    message = ("Enqueued token limit reached for gpt-4o-mini in organization org-x. Limit: 2,000,000 enqueued "
               "tokens. Please try again once some in_progress batches have been completed.")
    assert limit_from_message(message) == 2_000_000


# -- the cost cap in every mode -------------------------------------------------------------------------------
CAP = 0.4  # USD: round one (opinions and the questions' labels) fits, not the whole run


@pytest.mark.parametrize("mode", ["api", "off"])
async def test_the_cost_cap_holds_in_batch_and_live_mode(tmp_path, bench, live_answers, mode):
    """The run stops at the cap (a batch round is cut before it is submitted, by its cost at most) and --resume with
    a higher cap finishes it with the same answers (before, batch mode submitted whole phases past the cap)."""
    server = await StubServer(batch_delay=0.05).start()
    run = tmp_path / "run"
    try:
        capped = config_for(server.base_url, batch={"mode": mode}, evaluation={"max_cost": CAP}, prices=PRICES)
        first = await evaluate_async(bench, capped, run)
        assert first.stopped and "cost cap" in first.stopped and "evaluation.max_cost" in first.stopped
        assert 0 < spent(run) <= CAP
        raised = config_for(server.base_url, batch={"mode": mode}, evaluation={"max_cost": 100.0}, prices=PRICES)
        second = await evaluate_async(bench, raised, run, resume=True)
    finally:
        await server.stop()
    assert not second.stopped and not second.failures
    assert answers_of(second) == live_answers


async def test_an_export_holds_back_what_the_cap_cannot_pay(tmp_path, bench):
    files = tmp_path / "files"
    config = config_for("http://127.0.0.1:9/v1", batch={"mode": "export", "export_dir": str(files)},
                        evaluation={"max_cost": 0.05}, prices=PRICES)
    result = await evaluate_async(bench, config, tmp_path / "run")
    assert result.stopped and "wait for a higher cost cap" in result.stopped
    from adaem.models.batch_quota import request_cost
    from adaem.models.types import ChatMessage, GenerateConfig

    exported = 0.0
    for path in files.glob("*.input.jsonl"):
        model = json.loads((files / "manifest.json").read_text())[path.name.removesuffix(".input.jsonl")]
        for line in map(json.loads, path.read_text().splitlines()):
            body = line["body"]
            exported += request_cost(config, model, [ChatMessage(**m) for m in body["messages"]],
                                     GenerateConfig(max_tokens=body["max_tokens"]), price_factor=1.0)
    assert 0 < exported <= 0.05  # what was written costs at most the cap


# -- export and import end --------------------------------------------------------------------------------------
def answer_files(directory: Path, refuse: str | None = None) -> int:
    """What vLLM's run_batch writes for each exported file; the lines of model `refuse` as it writes them when the
    model name in the lines is not one it serves (no --served-model-name): a nested ErrorResponse."""
    count = 0
    for path in directory.glob("*.input.jsonl"):
        with open(path.with_name(path.name.replace(".input.", ".output.")), "w") as fh:
            for i, line in enumerate(map(json.loads, path.read_text().splitlines())):
                model = line["body"]["model"]
                if model == refuse:
                    row = {"id": f"vllm-{i}", "custom_id": line["custom_id"],
                           "response": {"status_code": 404, "request_id": f"r{i}", "body": None},
                           "error": {"error": {"message": f"The model `{model}` does not exist.",
                                               "type": "NotFoundError", "param": "model", "code": 404}}}
                else:
                    row = {"id": f"vllm-{i}", "custom_id": line["custom_id"], "error": None,
                           "response": {"status_code": 200, "request_id": f"r{i}",
                                        "body": StubServer._completion(line["body"])}}
                fh.write(json.dumps(row) + "\n")
                count += 1
    return count


async def test_error_lines_in_imported_outputs_end_as_failures_with_the_servers_message(tmp_path, bench):
    """sim-b's lines all come back as vLLM's 404: its answers fail with vLLM's own message, and the rounds end
    (before: its requests were exported again every round, for ever, and the message said only "HTTP 404")."""
    files = tmp_path / "files"
    files.mkdir()
    config = config_for("http://127.0.0.1:9/v1", batch={"mode": "export", "export_dir": str(files),
                                                        "import_dir": str(files)})
    rounds = 0
    while True:
        result = await evaluate_async(bench, config, tmp_path / "run", resume=rounds > 0)
        if not result.stopped:
            break
        assert answer_files(files, refuse="sim-b") > 0
        rounds += 1
        assert rounds < 6, "export/import did not end"
    failed = [f for f in result.failures if "sim-b" in f["error"]]
    assert len(failed) == len(QUESTIONS)
    assert all("The model `sim-b` does not exist." in f["error"] and "HTTP 404" in f["error"] for f in failed)
    assert set(result.answers.model) == {"stub/sim-a"}


# -- outages ---------------------------------------------------------------------------------------------------
async def test_polling_retries_through_a_short_outage(tmp_path, bench, live_answers):
    server = await StubServer(batch_delay=0.3).start()

    async def outage() -> None:
        while not server.batches:
            await asyncio.sleep(0.01)
        server.down = True
        await asyncio.sleep(0.5)
        server.down = False

    blip = asyncio.ensure_future(outage())
    try:
        result = await evaluate_async(bench, config_for(server.base_url, batch={"mode": "api", "poll_outage": 30}),
                                      tmp_path / "run")
    finally:
        blip.cancel()
        await server.stop()
    assert not result.failures and not result.stopped
    assert answers_of(result) == live_answers and server.chat_requests == 0


async def test_a_long_outage_pauses_the_run_and_resume_reattaches(tmp_path, bench, live_answers):
    """Past batch.poll_outage the run pauses cleanly (its batch ids saved); --resume re-attaches to them and
    creates none of them again."""
    server = await StubServer(batch_delay=0.3).start()

    async def outage() -> None:
        while not server.batches:
            await asyncio.sleep(0.01)
        server.down = True

    down = asyncio.ensure_future(outage())
    run = tmp_path / "run"
    config = config_for(server.base_url, batch={"mode": "api", "poll_outage": 0.3})
    try:
        first = await evaluate_async(bench, config, run)
        assert first.stopped and "unreachable" in first.stopped and "--resume" in first.stopped
        created = len(server.batches)
        assert created >= 1 and all(r["state"] == "open" for r in read_state(run, STATE_KEY))
        server.down = False
        second = await evaluate_async(bench, config, run, resume=True)
    finally:
        down.cancel()
        await server.stop()
    assert not second.stopped and not second.failures
    assert answers_of(second) == live_answers
    records = read_state(run, STATE_KEY)
    assert len(records) == len(server.batches) and len({r["id"] for r in records}) == len(records)
    assert server.chat_requests == 0


async def test_a_replica_that_hangs_is_set_aside(make_pool):
    """A replica that accepts connections and never answers: each call there times out, counts as its failure,
    and after three it gets no calls for its cool-down (before: the pipeline's timeout cancelled the call unseen
    by the router, so the hung replica kept taking half of the calls, each waiting the full timeout)."""
    good, hung = await StubServer().start(), await StubServer().start()
    hung.hang = True
    pool = make_pool(endpoints={"lab": {"base_url": [good.base_url, hung.base_url]}},
                     limits={"max_concurrency": 2, "timeout": 0.3, "max_retries": 4, "backoff_base": 0.01,
                             "backoff_max": 0.02, "replica_cooldown": 60})
    try:
        results = await asyncio.gather(*(pool.get("lab/ok").generate(f"question {i}") for i in range(40)),
                                       return_exceptions=True)
    finally:
        await good.stop()
        await hung.stop()
    assert not [r for r in results if isinstance(r, BaseException)]
    assert good.chat_requests == 40
    assert hung.chat_requests <= 5  # three timeouts in a row set it aside (plus what was in flight then)
    rows = {r["url"]: r for r in pool.replica_rows()}
    assert rows[hung.base_url]["errors"] == hung.chat_requests and rows[hung.base_url]["calls"] == 0


def test_the_readme_queue_figures_for_the_paper_scale_judge_phase():
    """The README's "how long the judge phase takes" table: queue fills at tiers 1 and 2, and the costs."""
    from adaem.config import load_config
    from adaem.estimate import estimate_evaluate, queue_fills

    path = Path(__file__).parents[1] / "examples" / "paper-scale.yaml"
    fills = {}
    for tier in (1, 2):
        config = load_config(path, ["batch.mode=api", f"batch.tier={tier}"])
        rows = estimate_evaluate(config, 12310)
        judge = next(r for r in rows if r.role == "judge")
        assert judge.model == "openai/gpt-4o-mini" and round(judge.cost, 2) == 33.27
        fills[tier] = queue_fills(config, rows)["openai/gpt-4o-mini"]
    assert fills == {1: (2_000_000, 286), 2: (20_000_000, 29)}
    live = estimate_evaluate(load_config(path, ["batch.mode=off"]), 12310)
    assert round(next(r for r in live if r.role == "judge").cost, 2) == 66.55
