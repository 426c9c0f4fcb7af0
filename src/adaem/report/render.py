"""One self-contained HTML file from collected runs: the data as escaped JSON, the stylesheet and the script
inline (no CDN, works offline)."""

from __future__ import annotations

import html
import json
import time
from importlib import resources
from pathlib import Path
from string import Template

from .collect import RunData, collect_across, collect_run


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def embed_json(value: object) -> str:
    """JSON safe inside <script type="application/json">: no `<` can close the block or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(runs: list[RunData], title: str = "adaem report", across: dict | None = None) -> str:
    payload = {"title": title, "generated": time.strftime("%Y-%m-%d %H:%M"), "runs": [r.as_json() for r in runs],
               "across": across}
    return Template(_asset("report.html")).substitute(
        title=html.escape(title), css=_asset("report.css"), js=_asset("report.js"), data=embed_json(payload))


def write_report(run_dirs: list[Path | str], out: Path | str, *, similarity: bool = True) -> tuple[Path, list[RunData]]:
    """Collect every run and write the report; returns its path and the runs (with their partial notes)."""
    runs = [collect_run(d, similarity=similarity) for d in run_dirs]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = ", ".join(r.name for r in runs)
    out.write_text(render_report(runs, f"adaem report: {names}", collect_across(runs)), encoding="utf-8")
    return out, runs
