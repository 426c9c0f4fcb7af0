"""Locating, assembling and verifying packaged GGUF weights (no model is run here)."""

from pathlib import Path

import pytest

from adaem.errors import ConfigError
from adaem.models import embedded


def test_catalogue_and_default_pool_are_installed():
    assert set(embedded.CATALOGUE) == {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    for model in embedded.CATALOGUE.values():
        assert embedded.is_installed(model), f"{model.name}: run scripts/setup.sh"
        parts = embedded.part_paths(model)
        assert sum(p.stat().st_size for p in parts) == model.size_bytes


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown embedded model 'local/gemma'.*local/smollm2-135m"):
        embedded.lookup("gemma")


def test_chunked_weights_are_assembled_once_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAEM_CACHE_DIR", str(tmp_path))
    path = embedded.weights_path("qwen2.5-coder-0.5b")
    assert path.parent == tmp_path / "models" and path.stat().st_size == 491_400_064
    mtime = path.stat().st_mtime_ns
    assert embedded.weights_path("qwen2.5-coder-0.5b") == path and path.stat().st_mtime_ns == mtime


def _fake_model(tmp_path: Path, content: bytes, monkeypatch) -> str:
    import hashlib

    good = tmp_path / "good.gguf"
    good.write_bytes(b"GGUF good weights")
    fake = embedded.EmbeddedModel(name="fake", title="fake", family="f", vendor="v", parts=(("x", "1", "y"),),
                                  sha256=hashlib.sha256(good.read_bytes()).hexdigest(), size_bytes=17)
    monkeypatch.setitem(embedded.CATALOGUE, "fake", fake)
    target = tmp_path / "weights.gguf"
    target.write_bytes(content)
    monkeypatch.setattr(embedded, "part_paths", lambda model: [target])
    monkeypatch.setenv("ADAEM_CACHE_DIR", str(tmp_path / "cache"))
    return "fake"


def test_corrupt_or_wrong_hash_weights_are_refused(tmp_path, monkeypatch):
    name = _fake_model(tmp_path, b"GGUF evil weights", monkeypatch)
    with pytest.raises(ConfigError, match="weights of local/fake .* have SHA-256 .* expected .*reinstall"):
        embedded.weights_path(name)


def test_a_verified_file_that_changes_is_checked_again(tmp_path, monkeypatch):
    name = _fake_model(tmp_path, b"GGUF good weights", monkeypatch)
    embedded.weights_path(name)
    (tmp_path / "weights.gguf").write_bytes(b"GGUF bad! weights")  # same size, new content and mtime
    with pytest.raises(ConfigError, match="SHA-256"):
        embedded.weights_path(name)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(embedded, "part_paths", lambda model: None)
    with pytest.raises(ConfigError, match="not installed: run `bash scripts/setup.sh`"):
        embedded.weights_path("smollm2-135m")
