"""MkDocs hooks of the documentation site (mkdocs.yml: `hooks:`).

- Maths: pymdownx.arithmatex (generic mode) marks `$...$` and `$$...$$` as `\\(...\\)` / `\\[...\\]` spans; here
  they become MathML at build time (latex2mathml), which browsers render natively. No JavaScript and no fonts
  to fetch, so the pages work offline and from file://. A command latex2mathml does not know fails the build
  instead of showing raw LaTeX.
- Search from file://: Material's offline plugin loads @squidfunk's iframe-worker shim from a CDN; the site
  uses the copy vendored in docs/assets/vendor/iframe-worker/ (MIT, npm iframe-worker 1.0.4) instead.
- Examples not run by CI: the test of the docs (tests/docs_examples.py, Sybil) runs every shell and Python
  example unless a `<!-- skip: next "needs ..." -->` comment says why not. The reader sees that reason too: the
  comment becomes a short note above the example.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert
from mkdocs.utils import get_relative_url

_INLINE = re.compile(r'<span class="arithmatex">\\\((?P<tex>.+?)\\\)</span>', re.DOTALL)
_BLOCK = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.+?)\\\]</div>', re.DOTALL)
_UNKNOWN = re.compile(r"<m[io][^>]*>\\[A-Za-z]+</m[io]>")

_SKIP = re.compile(r'^(?P<indent>[ \t]*)<!--\s*skip:\s*(?P<what>next|start)\s+"(?P<reason>[^"]+)"\s*-->\s*$',
                   re.MULTILINE)


class MathError(ValueError):
    pass


def _mathml(tex: str, display: str, where: str) -> str:
    source = html.unescape(tex).strip()
    out = convert(source, display=display)
    unknown = _UNKNOWN.search(out)
    if unknown:
        raise MathError(f"{where}: latex2mathml does not know {unknown.group(0)} in ${source}$")
    return out


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    def note(match: re.Match[str]) -> str:
        what = "these examples are" if match["what"] == "start" else "this example is"
        reason = html.escape(match["reason"])
        return f'{match["indent"]}<p class="not-run" markdown>Not run in CI: {what} shown as is ({reason}).</p>\n'

    return _SKIP.sub(note, markdown)


def on_page_content(content: str, page: Any, **_: Any) -> str:
    where = page.file.src_uri
    content = _BLOCK.sub(lambda m: f'<div class="math">{_mathml(m["tex"], "block", where)}</div>', content)
    return _INLINE.sub(lambda m: _mathml(m["tex"], "inline", where), content)


SHIM_CDN = "https://unpkg.com/iframe-worker/shim"
SHIM_LOCAL = "assets/vendor/iframe-worker/shim.js"


def on_post_page(output: str, page: Any, **_: Any) -> str:
    return output.replace(SHIM_CDN, get_relative_url(SHIM_LOCAL, page.url))
