"""Bad input at the command line: one clear line naming the problem, a non-zero exit, no traceback."""

import json

import pytest
from conftest import run_cli


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--judge", "nobody/x"], "roles.judge: unknown provider 'nobody'"),
        (["--explorers", "mock/a,notamodel"], "'notamodel' is not a model name"),
        (["--set", "limits.max_retries=-2"], "limits.max_retries"),
        (["--explorers", "local/gemma-270m"], "unknown embedded model 'local/gemma-270m'"),
    ],
)
def test_bad_models_and_values(tmp_path, args, fragment):
    result = run_cli("smoke", "--out", str(tmp_path / "r"), "--explorers", "mock/a", "--judge", "mock/j", *args)
    assert result.returncode == 2
    assert fragment in one_error_line(result)


def test_missing_key_names_the_variable(tmp_path):
    result = run_cli("smoke", "--out", str(tmp_path / "r"), "--explorers", "openai/gpt-4o-mini,mock/b",
                     "--judge", "mock/j", env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    assert result.returncode == 2
    assert "openai/gpt-4o-mini needs an API key: export OPENAI_API_KEY" in one_error_line(result)


def test_unreachable_base_url(tmp_path):
    result = run_cli("smoke", "--out", str(tmp_path / "r"), "--explorers", "mock/a,box/m", "--judge", "mock/j",
                     "--set", "endpoints.box.base_url=http://127.0.0.1:9/v1")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "box/m: cannot reach http://127.0.0.1:9/v1" in line and "base_url" in line


def test_refused_key_is_named_but_never_printed(tmp_path, stub_process):
    secret = "sk-cli-SECRET-abcdef0123456789"
    result = run_cli("smoke", "--out", str(tmp_path / "r"), "--explorers", "mock/a,box/echo-auth",
                     "--judge", "mock/j", "--set", f"endpoints.box.base_url={stub_process}",
                     env={"BOX_API_KEY": secret})
    assert result.returncode == 1
    assert secret not in result.stderr + result.stdout
    assert "refused the API key" in result.stderr and "$BOX_API_KEY" in result.stderr
    failures = (tmp_path / "r" / "outputs" / "failures.jsonl").read_text()
    assert "refused the API key" in failures and secret not in failures
    assert "rerun with --resume" in result.stderr


def test_resume_needs_a_run(tmp_path):
    result = run_cli("smoke", "--out", str(tmp_path / "nothing"), "--resume")
    assert result.returncode == 2 and "nothing to resume" in one_error_line(result)
    result = run_cli("smoke", "--resume")
    assert result.returncode == 2 and "--resume needs --out" in one_error_line(result)


def test_smoke_on_mock_models_then_resume_is_all_cache(tmp_path):
    run = tmp_path / "r"
    first = run_cli("smoke", "--out", str(run), "--explorers", "mock/a,mock/b", "--judge", "mock/j")
    assert first.returncode == 0, first.stderr
    again = run_cli("smoke", "--out", str(run), "--resume", "--questions", "5")
    assert again.returncode == 0, again.stderr
    records = [json.loads(x) for x in (run / "outputs" / "answers.jsonl").read_text().splitlines()]
    assert len(records) == 10 and all(r["stance"] in ("yes", "no", "neutral") for r in records)


def test_models_lists_embedded_and_endpoints():
    result = run_cli("models")
    assert result.returncode == 0
    for text in ("local/smollm2-135m", "local/qwen2.5-coder-1.5b", "Alibaba", "deepseek", "OPENAI_API_KEY"):
        assert text in result.stdout


def test_models_shows_what_each_configured_model_can_do():
    result = run_cli("models", "--set", "roles.targets=anthropic/claude-x,groq/llama,lab/m", "--set",
                     "endpoints.lab.base_url=[http://a:1/v1, http://b:1/v1]", "--set", "roles.judge=openai/gpt-4o",
                     env={"ANTHROPIC_API_KEY": "k", "GROQ_API_KEY": "k", "OPENAI_API_KEY": ""}, )
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│ ") and "/" in line.split("│")[1]}
    assert rows["anthropic/claude-x"][1:4] == ["answer text", "free text", "api"]
    assert rows["groq/llama"][1] == "answer text" and rows["groq/llama"][3] == "api"
    assert rows["lab/m"][3:5] == ["files (--batch-export)", "2"]  # two replicas
    assert "no key: export" in rows["openai/gpt-4o"][5]


def test_config_prints_the_validated_schema(tmp_path):
    result = run_cli("config", "--set", "roles.judge=mock/j")
    assert result.returncode == 0 and "judge: mock/j" in result.stdout
    assert "budget: 3  # paper: 1500" in result.stdout


def test_config_preset_paper_shows_the_papers_models_as_an_example(tmp_path):
    result = run_cli("config", "--preset", "paper")
    assert result.returncode == 0, result.stderr
    assert "budget: 1500\n" in result.stdout and "# paper" not in result.stdout.split("generation:")[1].split("evaluation")[0]
    assert "openai/gpt-4o-mini" in result.stdout and "Llama-Guard" in result.stdout
    r = run_cli("generate", "--preset", "paper", "--resume", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--preset starts a run" in r.stderr


def test_corrupt_weights_are_refused_before_the_run(tmp_path):
    from adaem.models import embedded

    model = embedded.CATALOGUE["qwen2.5-coder-0.5b"]
    bogus = tmp_path / "cache" / "models" / f"{model.name}-{model.sha256[:12]}.gguf"
    bogus.parent.mkdir(parents=True)
    bogus.write_bytes(b"GGUF" + b"\0" * 1024)  # a truncated / tampered assembled file
    result = run_cli("smoke", "--out", str(tmp_path / "r"), "--explorers", "local/qwen2.5-coder-0.5b,mock/b",
                     "--judge", "mock/j", env={"ADAEM_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 2
    line = one_error_line(result)
    assert "weights of local/qwen2.5-coder-0.5b" in line and "SHA-256" in line and "reinstall" in line


def test_unparseable_judge_answer_is_recorded_not_guessed(tmp_path):
    """A judge answer outside the schema becomes a parse failure on the record, never a stance."""
    from adaem.config import RunConfig
    from adaem.models.providers.mock import register_mock, unregister_mock
    from adaem.smoke import run_smoke

    register_mock("bad-judge", lambda messages, config: "I think they said yes, probably.")
    try:
        config = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b"], "judge": "mock/bad-judge"}})
        result = run_smoke(config, tmp_path / "r", question_count=2)
    finally:
        unregister_mock("bad-judge")
    assert len(result.records) == 4
    assert all(r["stance"] is None and "not valid JSON" in r["parse_failure"] for r in result.records)


def test_resume_changes_the_snapshot_rather_than_replacing_it(tmp_path):
    from adaem.cli import _run_config
    from adaem.config import load_config
    from adaem.store import RunStore

    original = load_config(None, ["roles.explorers=mock/a,mock/b", "roles.judge=mock/j", "generation.budget=2"])
    RunStore.create(tmp_path / "run", original, "generate").close()
    resumed = _run_config(None, ["roles.explorers=mock/a,mock/b,mock/c"], ["generation.budget=5"], True,
                          tmp_path / "run")
    assert resumed.roles.explorers == ["mock/a", "mock/b", "mock/c"]
    assert resumed.generation.budget == 5 and resumed.roles.judge == "mock/j"  # the rest kept from the snapshot
