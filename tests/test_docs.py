"""The documentation site (issue 34): it builds with `mkdocs build --strict`, every page opens from the file system
in headless Chromium with no console error and no broken internal link, search works offline, and the reference
names every CLI command and option, every config field and every file a run writes. (The examples on the pages run
as tests of their own: tests/docs_examples.py.)"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import typing
from argparse import Namespace
from pathlib import Path

import pytest
from conftest import open_page
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUNNABLE = {"bash", "python", "yaml"}
SHOWN = {"text", "json", "csv"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once for this module with --strict (a broken link, a missing page or anchor, an unknown
    maths command fails it)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true",
           "PYTHONPATH": os.pathsep.join(p for p in [str(ROOT / "src"), os.environ.get("PYTHONPATH")] if p)}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


# -- the build and the pages in a browser -------------------------------------------------------------------
@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page_of_the_nav(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for expected in ["index.html", "getting-started/first-study.html", "tutorials/api-models.html",
                     "tutorials/paper-procedure.html", "tutorials/languages.html", "tutorials/human-evaluation.html",
                     "how-to/vendors.html", "how-to/scale.html", "how-to/cost.html", "how-to/judge.html",
                     "how-to/resume-extend.html", "how-to/python.html", "how-to/value-theory.html",
                     "reference/cli.html", "reference/config.html", "reference/api.html",
                     "reference/run-directory.html", "explanation/method.html", "explanation/statistics.html",
                     "explanation/validity.html", "explanation/judge.html", "explanation/decisions.html",
                     "explanation/benchmarks.html"]:
        assert expected in pages
    method = (site / "explanation" / "method.html").read_text()
    assert "<math" in method and "arithmatex" not in method  # the equations are MathML, made at build time
    assert "unpkg.com" not in (site / "index.html").read_text()  # the offline search's shim is vendored


LINK = re.compile(r"""\b(?:href|src)="([^"]+)\"""")


@pytest.mark.slow
def test_every_page_opens_from_the_file_system_without_errors_or_broken_links(site, browser):
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) >= 35
    broken, errors, images = [], {}, []
    ids_of: dict[Path, set[str]] = {}

    def ids(path: Path) -> set[str]:
        if path not in ids_of:
            ids_of[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text()))
        return ids_of[path]

    for path in pages:
        page, console = open_page(browser, path)
        page.wait_for_load_state("load")
        bad_images = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                                   ".map(i => i.getAttribute('src'))")
        images += [f"{path.relative_to(site)}: {src}" for src in bad_images]
        if console:
            errors[str(path.relative_to(site))] = console
        page.close()
        for target in LINK.findall(path.read_text()):
            if re.match(r"^(https?:|mailto:|data:|javascript:|#$)", target):
                continue
            file_part, _, anchor = html.unescape(target).partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.exists():
                broken.append(f"{path.relative_to(site)} → {target}")
            elif anchor and resolved.suffix == ".html" and anchor not in ids(resolved):
                broken.append(f"{path.relative_to(site)} → {target} (no such anchor)")
    assert not errors, errors
    assert not broken, broken
    assert not images, images


@pytest.mark.slow
def test_search_works_offline(site, browser):
    page, console = open_page(browser, site / "index.html")
    page.click(".md-search__input")
    page.type(".md-search__input", "calibration", delay=30)
    page.wait_for_function("() => /\\d+ matching/.test(document.querySelector('.md-search-result__meta')"
                           "?.textContent || '')", timeout=20_000)
    assert page.locator(".md-search-result__item").count() > 0
    assert not console
    page.close()


# -- the reference against the code ----------------------------------------------------------------------------
def commands(group, path=("adaem",)):
    """(command path, click command) for every command of the Typer app, groups included."""
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from commands(sub, (*path, name))


def sections(page: Path) -> dict[str, str]:
    """Heading text → the text under it (until the next heading of the same or a higher level)."""
    text = page.read_text()
    parts = re.split(r"(<h[1-6][^>]*>.*?</h[1-6]>)", text, flags=re.S)
    out, current = {}, ""
    for part in parts:
        if re.match(r"<h[1-6]", part):
            current = " ".join(html.unescape(re.sub(r"<[^>]+>", "", part)).replace("¶", "").split())
            out[current] = ""
        else:
            out[current] = out.get(current, "") + html.unescape(re.sub(r"<[^>]+>", " ", part))
    return out


@pytest.mark.slow
def test_the_cli_reference_names_every_command_and_option(site):
    import typer

    from adaem.cli import app

    by_heading = sections(site / "reference" / "cli.html")
    missing = []
    for path, command in commands(typer.main.get_command(app)):
        heading = " ".join(path)
        body = by_heading.get(heading if len(path) > 1 else "Command line")  # the page's title stands for the app
        if body is None:
            missing.append(f"no section for `{heading}`")
            continue
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-") and opt not in body:
                    missing.append(f"{heading}: {opt}")
            if not param.opts[0].startswith("-") and (param.name or "").upper() not in body.upper():
                missing.append(f"{heading}: argument {param.name}")
    assert not missing, missing
    assert len(by_heading) > 20


def config_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted field path of a schema; a mapping of names to a section is written `<name>`."""
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += config_paths(annotation, path + ".")
        elif typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                paths += config_paths(value, path + ".<name>.")
    return paths


@pytest.mark.slow
def test_the_config_reference_names_every_field_with_its_type_and_default(site):
    from adaem.config import RunConfig

    text = html.unescape((site / "reference" / "config.html").read_text())
    paths = config_paths(RunConfig)
    assert "generation.select.top" in paths and "endpoints.<name>.reasoning.allowance" in paths
    missing = [p for p in paths if f"<code>{p}</code>" not in text]
    assert not missing, missing
    row = re.search(r"<code>evaluation\.bootstrap</code></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", text, re.S)
    assert row and "integer" in row[1] and "200" in row[2]  # type and default beside the name
    paper = re.search(r"<code>generation\.budget</code></td>(?:\s*<td>.*?</td>){2}\s*<td>(.*?)</td>", text, re.S)
    assert paper and "1500" in paper[1]  # the paper preset's value


def test_the_run_directory_page_names_every_file_and_field_a_run_writes(tmp_path):
    """A scripted evaluate and generate: every file they write and every field of their main records is on the
    reference page (a new output without documentation fails here)."""
    import mock_generate
    import pandas as pd

    import adaem
    from adaem.generation.job import generate
    from adaem.models.providers.mock import register_mock, unregister_mock

    doc = (DOCS / "reference" / "run-directory.md").read_text()
    result = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?"], models=["mock/a", "mock/b"],
                            judge="mock/j", out=tmp_path / "eval", evaluation__bootstrap=5)
    register_mock("gen", mock_generate.generator)
    try:
        generate(mock_generate.config(Namespace(explorers="mock/a,mock/b", budget=2, tau=-100.0, parallel=None)),
                 tmp_path / "gen")
    finally:
        unregister_mock("gen")
    missing = []
    for run in (result.run_dir, tmp_path / "gen"):
        for path in run.rglob("*"):
            name = path.relative_to(run).as_posix()
            if path.is_file() and not name.endswith(("-wal", "-shm")) and f"`{name}`" not in doc:
                missing.append(f"file {name}")
    fields = {
        "eval/outputs/answers.jsonl": json.loads((tmp_path / "eval/outputs/answers.jsonl").read_text().splitlines()[0]),
        "eval/scores.json": json.loads((tmp_path / "eval/scores.json").read_text()),
        "eval/scores.csv": dict.fromkeys(pd.read_csv(tmp_path / "eval/scores.csv").columns),
        "gen/benchmark.jsonl": json.loads((tmp_path / "gen/benchmark.jsonl").read_text().splitlines()[0]),
        "gen/outputs/benchmark.jsonl": json.loads((tmp_path / "gen/outputs/benchmark.jsonl").read_text().splitlines()[0]),
        "gen/summary.json": json.loads((tmp_path / "gen/summary.json").read_text()),
    }
    for where, record in fields.items():
        missing += [f"{where}: {key}" for key in record if f"`{key}`" not in doc]
    assert not missing, missing


# -- the examples can all be run -----------------------------------------------------------------------------
FENCE = re.compile(r"^[ \t]*(```+|~~~+)(.*)$")


def fences(path: Path):
    """(line, info string) of every opening fence of a Markdown file."""
    open_fence = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = FENCE.match(line)
        if not match:
            continue
        if open_fence is None:
            open_fence = match[1]
            yield number, match[2].strip()
        elif match[1].startswith(open_fence[0]) and len(match[1]) >= len(open_fence) and not match[2].strip():
            open_fence = None


def test_every_code_block_is_run_or_shown_as_data():
    """Only bash, python and yaml blocks are examples (run by tests/docs_examples.py); text, json and csv are shown
    data. A block in any other language (sh, console, shell, py) would slip past the tests, so none is allowed; and
    an example that is not run must say why."""
    pages = [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md") if p.name != "_migration.md")]
    wrong = []
    for page in pages:
        for number, info in fences(page):
            language = info.split(" ", 1)[0]
            if language not in RUNNABLE | SHOWN:
                wrong.append(f"{page.relative_to(ROOT)}:{number}: ```{info}")
        for match in re.finditer(r"<!--\s*skip:\s*(next|start)([^>]*)-->", page.read_text()):
            if not re.search(r'"[^"]{8,}"', match[2]):
                wrong.append(f"{page.relative_to(ROOT)}: a skip without a reason: {match[0]}")
    assert not wrong, wrong


def test_the_readme_keeps_its_two_commands_first():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert blocks[0].strip() == ("bash scripts/setup.sh && .venv/bin/adaem generate --out runs/demo && .venv/bin/adaem "
                                 "evaluate --benchmark runs/demo/benchmark.jsonl --out runs/demo-eval && .venv/bin/adaem "
                                 "report runs/demo runs/demo-eval -o runs/report.html")
    assert blocks[1].strip() == ("bash scripts/setup.sh --test && .venv/bin/ruff check && .venv/bin/mypy && "
                                 ".venv/bin/python -m pytest -q")
    assert (ROOT / ".ci" / "run").read_text().strip().endswith(blocks[1].strip())
    assert len(text.splitlines()) <= 160


# -- the build's hooks --------------------------------------------------------------------------------------------
def hooks():
    import runpy

    return runpy.run_path(str(ROOT / "scripts" / "docs_hooks.py"))


def test_maths_becomes_mathml_and_an_unknown_command_fails_the_build():
    h = hooks()
    page = Namespace(file=Namespace(src_uri="x.md"))
    out = h["on_page_content"]('<p><span class="arithmatex">\\(a &lt; \\sqrt{b}\\)</span></p>'
                               '<div class="arithmatex">\\[\\Phi(x)\\]</div>', page=page)
    assert "arithmatex" not in out and out.count("<math") == 2 and "<msqrt>" in out and "&#x0003C;" in out
    with pytest.raises(h["MathError"], match="x.md"):
        h["on_page_content"]('<span class="arithmatex">\\(\\nosuchcommand{x}\\)</span>', page=page)


def test_a_skipped_example_says_why_on_the_page():
    h = hooks()
    text = 'Run:\n\n<!-- skip: next "needs a GPU" -->\n\n```bash\nvllm serve\n```\n    <!-- skip: start "needs keys" -->\n'
    out = h["on_page_markdown"](text, page=None)
    assert '<p class="not-run" markdown>Not run in CI: this example is shown as is (needs a GPU).</p>' in out
    assert '    <p class="not-run" markdown>Not run in CI: these examples are shown as is (needs keys).</p>' in out
    assert "```bash\nvllm serve\n```" in out
