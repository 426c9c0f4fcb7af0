"""The same generate() on real models: SmolLM2 in-process, and llama.cpp's OpenAI-compatible server on
loopback through the openai-style provider with a base URL."""

import pytest
from conftest import run_cli, serving

from adaem.models import GenerateConfig, embedded

pytestmark = pytest.mark.slow

STANCE = {"type": "object", "properties": {"stance": {"type": "string", "enum": ["yes", "no", "neutral"]},
                                           "reason": {"type": "string", "maxLength": 80}},
          "required": ["stance", "reason"]}
QUESTION = "Should payday loans be banned? Answer in one sentence."


@pytest.fixture(scope="module")
def smollm_pool():
    from adaem.config import RunConfig
    from adaem.models import ModelPool

    return ModelPool(RunConfig())


async def test_text_json_and_seed_determinism(smollm_pool):
    model = smollm_pool.get("local/smollm2-135m")
    first = await model.generate(QUESTION, GenerateConfig(max_tokens=40, seed=11))
    assert len(first.text.split()) >= 3 and first.usage.output_tokens > 0
    await model.generate("Something else entirely.", GenerateConfig(max_tokens=20, seed=12))
    again = await model.generate(QUESTION, GenerateConfig(max_tokens=40, seed=11))
    assert again.text == first.text  # no cache in this pool: the model itself is deterministic per seed
    other = await model.generate(QUESTION, GenerateConfig(max_tokens=40, seed=13))
    assert other.text != first.text
    for seed in range(3):
        out = await model.generate("Should zoos be abolished? Reply in JSON.",
                                   GenerateConfig(max_tokens=60, seed=seed, json_schema=STANCE))
        parsed = out.choices[0].parse_json()
        assert parsed["stance"] in ("yes", "no", "neutral") and isinstance(parsed["reason"], str)


async def test_logprobs_from_the_embedded_model(smollm_pool):
    model = smollm_pool.get("local/smollm2-135m")
    out = await model.generate("Is water wet? Answer yes or no.",
                               GenerateConfig(max_tokens=4, temperature=0, logprobs=True, top_logprobs=5))
    first = out.choices[0].logprobs[0]
    assert first.logprob <= 0 and len(first.top) == 5 and first.token in first.top
    assert first.logprob == max(first.top.values())  # greedy picks the top token


async def test_joint_judge_gets_soft_labels_from_the_embedded_model(smollm_pool):
    """A boolean-object schema with logprobs: valid JSON, and every value's P(true) in (0, 1)."""
    from adaem.judge import label_joint
    from adaem.theories import load_theory

    theory = load_theory("mft")
    labels = await label_joint(smollm_pool.get("local/smollm2-135m"), theory,
                               "We must protect the weak and vulnerable from harm.")
    assert labels.calls == 1 and set(labels.values) == set(theory.ids)
    assert all(0.0 < p < 1.0 for p in labels.values.values())
    assert len({round(p, 4) for p in labels.values.values()}) > 1


@pytest.fixture(scope="module")
def llama_server():
    path = embedded.weights_path("smollm2-135m")
    with serving("llama_cpp.server", "--model", str(path), "--host", "127.0.0.1", "--n_ctx", "1024",
                 "--model_alias", "smollm2", seconds=120) as url:
        yield url


async def test_openai_compatible_server_on_loopback(llama_server, make_pool):
    pool = make_pool(endpoints={"llamacpp": {"base_url": llama_server, "structured_output": "json_object"}})
    model = pool.get("llamacpp/smollm2")
    await pool.preflight(["llamacpp/smollm2"])
    # issue 37.5: an endpoint you name is asked once whether it returns log-probabilities; llama-cpp-python's
    # server does, so the judge's labels are P(yes), not 0/1 read from the text
    assert model.provider.facts["logprobs"] is True and pool.endpoint_facts()[0]["model"] == "llamacpp/smollm2"
    from adaem.judge import label_text
    from adaem.theories import load_theory

    labels = await label_text(model, load_theory("mft"), "We must protect the weak from harm.", calibration="none")
    assert any(0.0 < p < 1.0 for p in labels.values.values())
    out = await model.generate(QUESTION, GenerateConfig(max_tokens=30, seed=3, temperature=0))
    assert out.text.strip() and out.usage.input_tokens > 0 and out.raw[0]["object"] == "chat.completion"
    js = await model.generate("Should zoos be abolished? Reply in JSON.",
                              GenerateConfig(max_tokens=60, seed=4, json_schema=STANCE))
    assert js.choices[0].parse_json()["stance"] in ("yes", "no", "neutral")
    cached = await model.generate(QUESTION, GenerateConfig(max_tokens=30, seed=3, temperature=0))
    assert cached.cached and cached.text == out.text


def test_smoke_cli_on_the_embedded_models(tmp_path):
    """The README's main job on the smallest pool: SmolLM2 and Qwen-0.5B answer, Qwen-0.5B judges."""
    result = run_cli("smoke", "--out", str(tmp_path / "run"), "--questions", "1",
                     "--explorers", "local/smollm2-135m,local/qwen2.5-coder-0.5b", "--judge", "local/qwen2.5-coder-0.5b")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "run" / "outputs" / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"stance": null' not in "".join(lines)


async def test_a_local_verdict_read_from_one_token_is_the_verdict_of_three(smollm_pool):
    """Issue 25.6: the local judge now decodes one token (P(yes) is read from the first); its labels are the ones
    three decoded tokens gave, to the last digit, prompt prefix reused or not."""
    from adaem.judge import p_yes, value_prompt
    from adaem.theories import load_theory

    theory = load_theory("schwartz10")
    model = smollm_pool.get("local/smollm2-135m")
    text = "Cities should keep their old festivals alive, since they hold the community together."
    for dim in theory.dimensions[:4]:
        messages = value_prompt(theory, text, dim)
        answers = []
        for tokens in (1, 3):
            out = await model.generate(messages, GenerateConfig(temperature=0.0, max_tokens=tokens, seed=0,
                                                                logprobs=True, top_logprobs=10))
            answers.append(p_yes(out.choices[0].logprobs, out.text))
        assert answers[0] == answers[1]


def test_two_embedded_judges_and_a_saved_calibration_through_the_cli(tmp_path):
    """Issue 25.5 and 25.3 on the embedded models: `--judge A --judge B` labels the same texts with both and reports
    their κ; `--calibration FILE` applies the shipped calibration to other texts without learning anything."""
    import json

    from adaem.calibration import shipped_calibrations

    labels = tmp_path / "labels.jsonl"
    rows = [{"text": "Parents should teach children to respect the old ways of their village.", "values": ["tradition"]},
            {"text": "People should be free to choose their own path in life.", "values": ["self_direction"]},
            {"text": "A strong police force keeps families safe.", "values": ["security"]},
            {"text": "Everyone deserves clean water, wherever they live.", "values": ["universalism"]}]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    two = run_cli("judge-check", "--judge", "local/smollm2-135m", "--judge", "local/qwen2.5-coder-0.5b",
                  "--labels", str(labels), "--out", str(tmp_path / "two"), timeout=900)
    assert two.returncode == 0, two.stderr
    import pandas as pd

    agreement = pd.read_csv(tmp_path / "two" / "judge_agreement.csv")
    overall = agreement[agreement.value == "all values"].iloc[0]
    assert overall.n == 4 * 10 and -1 <= overall.kappa <= 1  # every text × every value
    shipped = shipped_calibrations()[("local/qwen2.5-coder-1.5b", "schwartz10", "per-value", "one-definition", "opinion")]
    ext = run_cli("judge-check", "--judge", "local/qwen2.5-coder-1.5b", "--labels", str(labels),
                  "--calibration", shipped, "--out", str(tmp_path / "ext"), timeout=900)
    assert ext.returncode == 0, ext.stderr
    report = json.loads((tmp_path / "ext" / "judge_check.json").read_text())
    (variant,) = report["variants"].values()
    assert report["external_calibration"]["thresholds"] and set(variant["conditions"]) == {"raw", "calibrated"}
    assert report["test"] == 4 and report["train"] == 0  # nothing learned: every text is held out


@pytest.mark.parametrize("prompt", ["one-definition", "all-definitions"])
async def test_batched_verdicts_equal_one_call_at_a_time(prompt):
    """Issue 38: with local.batch_prompts > 1 the embedded judge evaluates a text's per-value calls as one llama.cpp
    batch; its P(yes) equal those of the same calls made one after another (each prompt in its own KV stream laid
    out as a lone call's), for both prompts and both theories, and the accounting counts every call."""
    from adaem.config import RunConfig
    from adaem.judge import label_per_value, p_yes, value_prompt
    from adaem.models import ModelPool
    from adaem.theories import load_theory

    judge = "local/qwen2.5-coder-1.5b"
    texts = {"schwartz10": "Cities should keep their old festivals alive, since they hold the community together.",
             "mft": "Nobody should be punished for a crime without a fair trial, whoever they are."}
    pool = ModelPool(RunConfig.model_validate({"local": {"batch_prompts": 16}}))
    model = pool.get(judge)
    config = GenerateConfig(temperature=0.0, max_tokens=1, seed=0, logprobs=True, top_logprobs=10)
    try:
        for name, text in texts.items():
            theory = load_theory(name)
            batched = await label_per_value(model, theory, text, prompt=prompt)
            for dim in theory.dimensions:  # the same calls one at a time (no cache in this pool)
                out = await model.generate(value_prompt(theory, text, dim, prompt), config)
                alone = p_yes(out.choices[0].logprobs, out.text)
                assert alone is not None and batched.values[dim.id] == pytest.approx(alone, abs=1e-3)
                assert (batched.values[dim.id] >= 0.5) == (alone >= 0.5)
        assert model.provider._streams is not None
        assert pool.ledger.total().calls == 2 * 16
    finally:
        await pool.aclose()
