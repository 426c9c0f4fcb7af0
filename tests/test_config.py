from pathlib import Path

import pytest

from adaem.config import RunConfig, load_config
from adaem.errors import ConfigError


def test_defaults_are_the_embedded_pool():
    cfg = RunConfig()
    assert cfg.roles.explorers == ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
    assert cfg.roles.scorers == cfg.roles.explorers  # P2 falls back to P1
    assert cfg.roles.targets == cfg.roles.scorers
    assert cfg.roles.judge == "local/qwen2.5-coder-1.5b"
    roles = cfg.roles.all_models()
    assert roles["local/qwen2.5-coder-1.5b"] == ["explorer", "scorer", "generator", "judge", "target"]


def test_yaml_and_set_overrides(tmp_path: Path):
    f = tmp_path / "run.yaml"
    f.write_text("roles:\n  explorers: [mock/a, mock/b]\n  judge: mock/j\nlimits:\n  max_retries: 2\n")
    cfg = load_config(f, ["roles.judge=mock/k", "limits.timeout=5", "roles.scorers=mock/a,mock/c"])
    assert cfg.roles.judge == "mock/k"
    assert cfg.limits.max_retries == 2 and cfg.limits.timeout == 5
    assert cfg.roles.scorers == ["mock/a", "mock/c"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["roles.judge=nobody/x"], "roles.judge: unknown provider 'nobody'"),
        (["roles.explorers=mock/a,gpt4"], "roles.explorers.1: 'gpt4' is not a model name"),
        (["limits.max_retries=-1"], "limits.max_retries"),
        (["limits.timeout=abc"], "limits.timeout"),
        (["sampling.temperature=7"], "sampling.temperature"),
        (["rolez.judge=mock/a"], "rolez"),
        (["endpoints.mock.base_url=http://x"], "built-in provider"),
    ],
)
def test_bad_values_name_the_field(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(scalar)


def test_endpoint_names_become_providers():
    cfg = load_config(None, ["endpoints.mybox.base_url=http://127.0.0.1:9/v1", "roles.judge=mybox/some-model"])
    assert cfg.roles.judge == "mybox/some-model"
    assert cfg.endpoint("mybox").key_env("mybox") == "MYBOX_API_KEY"


def test_the_paper_preset_is_table_6(tmp_path: Path):
    """Issue 12 item 8: every seed an arm, B = 1,500, N2 = 3, depth 3, τ = 0.5, ε = 0.85, N_shot = 5, k = 3,
    T = 1.0, top-p 0.95, unit=opinion, per-value judge; a config file and --set change single fields of it."""
    cfg = load_config(preset="paper")
    g, ev, s = cfg.generation, cfg.evaluation, cfg.sampling
    assert (g.arms, g.budget, g.width, g.depth, g.tau, g.epsilon, g.n_shot) == (None, 1500, 3, 3, 0.5, 0.85, 5)
    assert (ev.key_points, ev.unit, ev.protocol, s.temperature, s.top_p) == (3, "opinion", "per-value", 1.0, 0.95)
    f = tmp_path / "run.yaml"
    f.write_text("generation:\n  budget: 20\n")
    mine = load_config(f, ["generation.width=1"], preset="paper")
    assert (mine.generation.budget, mine.generation.width, mine.generation.depth) == (20, 1, 3)
    with pytest.raises(ConfigError, match="unknown preset 'papr'"):
        load_config(preset="papr")


def test_annotated_config_shows_the_paper_value_beside_each_that_differs():
    from adaem.config import annotated_config, preset_data

    text = annotated_config(RunConfig(), preset_data("paper"))
    lines = {line.strip().split(":")[0]: line for line in text.splitlines()}
    assert lines["budget"].strip() == "budget: 3  # paper: 1500"
    assert lines["unit"].strip() == "unit: answer  # paper: opinion"
    assert lines["top_p"].strip() == "top_p: 0.95"  # same as the paper: no note
    assert "# paper" not in lines["judge"]
    import yaml

    assert yaml.safe_load(text) == RunConfig().model_dump(mode="json")  # still the config, as YAML
