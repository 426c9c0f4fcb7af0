"""The house as drawn in ARCHITECTURE.md, checked: adaem's import graph has no cycle, no module imports a layer above
its own, and only the model layer knows the providers. Imports are read from the source (every `import` and
`from … import`, those inside functions and under TYPE_CHECKING included: a dependency is a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "adaem"

# Lowest first. A module may import its own layer and the layers below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "languages", "theories", "prompts", "objective", "rating", "resampling", "charts", "config",
                    "endpoints",
                    "calibration", "models.types", "models.embedded")),
    ("models", ("models", "progress")),
    ("storage", ("store", "embeddings", "benchmark")),
    ("core", ("jobs", "units", "batching", "judge", "measure", "scoring", "translation", "smoke")),
    ("jobs", ("generation", "evaluation", "analysis", "estimate", "annotate")),
    ("report", ("report",)),
    ("face", ("api", "tables", "cli", "__main__", "")),
]
# Known exceptions, each with the change that removes it.
ALLOWED: set[tuple[str, str]] = set()


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports() -> dict[str, set[str]]:
    """module → the adaem modules it imports (names relative to the package; "" is the package itself)."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                    target = ".".join([p for p in [*base, node.module or ""] if p])
                elif (node.module or "").startswith("adaem"):
                    target = node.module.removeprefix("adaem").lstrip(".")  # type: ignore[union-attr]
                else:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    targets.add(sub if sub in mods else target)
            elif isinstance(node, ast.Import):
                targets |= {a.name.removeprefix("adaem").lstrip(".") for a in node.names if a.name.startswith("adaem")}
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def layer(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".") or prefix == "" == module) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module} is in no layer of ARCHITECTURE.md: add it to LAYERS"
    return rank


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(imports()) == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [(a, b) for a, targets in imports().items() for b in targets
              if layer(b) > layer(a) and (a, b) not in ALLOWED]
    assert upward == [], "upward imports (module → what it imports): " + ", ".join(f"{a} → {b}" for a, b in upward)


def test_only_the_model_layer_knows_the_providers():
    outside = [(a, b) for a, targets in imports().items() for b in targets
               if b.startswith("models.providers") and not a.startswith("models")]
    assert outside == []


def test_the_checks_catch_what_they_are_for():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert layer("cli") > layer("evaluation") > layer("measure") > layer("store") > layer("models.pool") > \
        layer("config")
