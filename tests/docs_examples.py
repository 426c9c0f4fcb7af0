"""Every example in README.md and docs/ runs as a test (Sybil collects them; the root conftest.py hooks it in).

- ```python blocks run in order in one namespace per page (a page is a notebook), in the page's own working
  directory;
- ```bash blocks run in bash (`set -euo pipefail`) in that same directory, one after another, so a tutorial's
  `adaem generate` feeds its `adaem evaluate`;
- ```yaml blocks with a title (```yaml title="run.yaml"```) are written to that file there, so the commands
  after them read the config the page shows.

The working directory holds `examples/`, `tests/` and `benchmarks/` of this tree and `.venv` (this Python's
environment), so paths read as in a clone. Examples that name API models (openai/..., deepseek/..., an
endpoint `lab` of your own) run against a loopback stand-in of those APIs (tests/stub_server.py, every model
answering plausibly): every vendor preset's `<NAME>_BASE_URL` points at it and every key is set. An example
that cannot run here says why in a `<!-- skip: next "needs ..." -->` comment, which the site shows as a note.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sybil import Document, Example, Region, Sybil
from sybil.parsers.abstract import AbstractCodeBlockParser
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("examples", "tests", "benchmarks")
# Names of self-hosted endpoints the docs' configs use (their base_url is replaced like the presets').
CUSTOM_ENDPOINTS = ("lab",)
SHELL_TIMEOUT = 300


_STUB: dict[str, str] = {}


def stub_url() -> str:
    """The loopback stand-in of every vendor's API (tests/stub_server.py --simulate), started on first use and
    stopped when the test process exits."""
    if "url" not in _STUB:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "stub_server.py"), "--port", str(port),
                                 "--simulate"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(proc.kill)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()
                    raise RuntimeError("the docs' stub server did not start") from None
                time.sleep(0.2)
        _STUB["url"] = url
    return _STUB["url"]


def stub_environment(url: str) -> dict[str, str]:
    """Every preset endpoint (and the docs' own endpoint names) at the loopback server, with a key."""
    from adaem.endpoints import ANTHROPIC_PROVIDER, PRESET_ENDPOINTS

    env: dict[str, str] = {}
    for name, endpoint in PRESET_ENDPOINTS.items():
        if name == ANTHROPIC_PROVIDER:
            continue  # another API; the docs mark its examples
        env[f"{name.upper()}_BASE_URL"] = url
        env[endpoint.key_env(name)] = "docs-example-key"
    for name in CUSTOM_ENDPOINTS:
        env[f"{name.upper()}_BASE_URL"] = url
    return env


def workspace() -> Path:
    """A fresh directory that looks like a clone: examples/, tests/, benchmarks/ and .venv linked in."""
    path = Path(tempfile.mkdtemp(prefix="adaem-docs-"))
    for name in LINKED:
        (path / name).symlink_to(ROOT / name)
    (path / ".venv").symlink_to(Path(sys.prefix))
    return path


def _info_word(region: Region) -> str:
    return str(region.lexemes.get("arguments", "")).split(" ", 1)[0]


def _title(region: Region) -> str | None:
    arguments = str(region.lexemes.get("arguments", ""))
    marker = 'title="'
    if marker not in arguments:
        return None
    return arguments.split(marker, 1)[1].split('"', 1)[0]


class FenceParser(AbstractCodeBlockParser):
    """Fenced blocks whose info string starts with `language` (any attributes, e.g. a title, may follow)."""

    def __init__(self, language: str) -> None:
        super().__init__([
            FencedCodeBlockLexer(language=r".+", mapping={"language": "arguments", "source": "source"}),
            DirectiveInHTMLCommentLexer(directive=r"(invisible-)?code(-block)?", arguments=".+"),
        ], language)

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexers(document):
            if _info_word(region) == self.language:
                region.parsed = (str(region.lexemes["source"]), _title(region))
                region.evaluator = self.evaluate
                yield region


class PythonParser(PythonCodeBlockParser):
    """Python blocks, run by Sybil's own evaluator; an exception is reported as a failure with its traceback
    (raised from adaem's event-loop thread, its traceback is too short for Sybil's pytest filter, which then
    crashes the whole session with an INTERNALERROR)."""

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in super().__call__(document):
            region.evaluator = self._reported(region.evaluator)
            yield region

    @staticmethod
    def _reported(evaluate: Any) -> Any:
        def run(example: Example) -> str | None:
            try:
                return evaluate(example)
            except Exception:
                raise AssertionError(traceback.format_exc()[-6000:]) from None

        return run


class ShellParser(FenceParser):
    def __init__(self) -> None:
        super().__init__("bash")

    def evaluate(self, example: Example) -> str | None:
        source, _ = example.parsed
        ns = example.namespace
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", source], cwd=ns["_workspace"], env=ns["_env"],
                                capture_output=True, text=True, timeout=SHELL_TIMEOUT, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise AssertionError(f"exit {result.returncode}\n--- command\n{source}\n--- stdout (end)\n"
                                 f"{result.stdout[-3000:]}\n--- stderr (end)\n{result.stderr[-3000:]}")
        return None


class ConfigFileParser(FenceParser):
    """A titled YAML block is a file the page's commands read: written where they run."""

    def __init__(self) -> None:
        super().__init__("yaml")

    def evaluate(self, example: Example) -> str | None:
        source, title = example.parsed
        if title is not None:
            (Path(example.namespace["_workspace"]) / title).write_text(source)
        return None


def setup(namespace: dict[str, Any]) -> None:
    """A page starts in its own working directory, with the stand-in APIs in its environment (the Python
    examples read os.environ, the shell examples get `_env`)."""
    path = workspace()
    env = stub_environment(stub_url())
    namespace["_workspace"] = path
    namespace["_old_cwd"] = os.getcwd()
    namespace["_old_env"] = {k: os.environ.get(k) for k in [*env, "MPLBACKEND", "PYTHONPATH"]}
    os.environ.update(env)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), os.environ.get("PYTHONPATH")] if p)
    namespace["_env"] = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                         "COLUMNS": "160", "NO_COLOR": "1"}
    os.chdir(path)


def teardown(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["_old_cwd"])
    for key, value in namespace["_old_env"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(namespace["_workspace"], ignore_errors=True)


DOCUMENTED = Sybil(
    parsers=[PythonParser(), ShellParser(), ConfigFileParser(), SkipParser()],
    path=str(ROOT),
    patterns=["README.md", "docs/*.md", "docs/*/*.md"],
    excludes=["docs/_migration.md", "*/README.md"],  # the README of the repository only, not of a data folder
    setup=setup,
    teardown=teardown,
)
