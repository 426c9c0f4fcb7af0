"""Print the licence of adaem and of every distribution it needs (transitively, core dependencies plus the
extras named on the command line), and exit 1 if any is GPL / AGPL (LGPL is listed but allowed).

    .venv/bin/python scripts/licences.py            # core
    .venv/bin/python scripts/licences.py local      # core + the embedded-model extra
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.requirements import Requirement


def licence(dist: metadata.Distribution) -> str:
    """License-Expression, else the License field's first line, else the trove classifiers."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = (meta.get("License") or "").strip().splitlines()
    short = text[0][:60] if text and len(text[0]) < 80 and "copyright" not in text[0].lower() else ""
    return "; ".join(dict.fromkeys([*classifiers, *([short] if short else [])])) or "unknown"


def needed(root: str, extras: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution `root[extras]` depends on, itself included."""
    seen: dict[str, metadata.Distribution] = {}
    todo: list[tuple[str, set[str]]] = [(root, set(extras))]
    while todo:
        name, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency of a dependency that is not installed
        seen[key] = dist
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted or {""}):
                todo.append((req.name, set(req.extras)))
    return seen


def is_gpl(text: str) -> bool:
    return bool(re.search(r"(?<![L])A?GPL|GNU (Affero )?General Public", text)) and "Lesser" not in text


def main() -> int:
    dists = needed("adaem", sys.argv[1:])
    bad = []
    for key in sorted(dists):
        text = licence(dists[key])
        flag = "  <-- GPL" if is_gpl(text) else ""
        bad += [key] if flag else []
        print(f"{key:28} {dists[key].version:14} {text}{flag}")
    print(f"{len(dists)} distributions; " + (f"GPL: {', '.join(bad)}" if bad else "no GPL licence"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
