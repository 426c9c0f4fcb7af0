"""Markdown of a study's design (instructions, examples, feedback) as a tree the rating page can build safely.

The page never parses HTML: it receives nested nodes `{"t": tag, "c": [children], "href": url?}` (a string is a
text node), builds them with createElement and textContent, and knows only the tags below. CommonMark is parsed by
markdown-it-py with raw HTML off, so `<script>` in the Markdown arrives as text; links keep only http(s) and mailto
targets, images become their alt text.
"""

from __future__ import annotations

from typing import Any

TAGS = {"p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "br", "hr",
        "a"}
_BLOCK = {"paragraph": "p", "bullet_list": "ul", "ordered_list": "ol", "list_item": "li", "blockquote": "blockquote",
          "strong": "strong", "em": "em", "link": "a"}
Node = dict[str, Any] | str


def markdown_tree(text: str, heading_offset: int = 2) -> list[Node]:
    """The page's nodes for a Markdown text; `heading_offset` shifts `#` to h(1+offset) so that a design's headings
    sit below the page's own (capped at h6)."""
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    if not text or not text.strip():
        return []
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    root = SyntaxTreeNode(md.parse(text))
    return _children(root, heading_offset)


def _children(node: Any, offset: int) -> list[Node]:
    out: list[Node] = []
    for child in node.children:
        out.extend(_convert(child, offset))
    return out


def _convert(node: Any, offset: int) -> list[Node]:
    kind = node.type
    if kind == "text":
        return [node.content]
    if kind in ("softbreak",):
        return ["\n"]
    if kind == "hardbreak":
        return [{"t": "br", "c": []}]
    if kind == "inline" or (kind == "paragraph" and node.hidden):  # a tight list's items hold no <p>
        return _children(node, offset)
    if kind == "heading":
        level = min(6, int(node.tag[1:]) + offset)
        return [{"t": f"h{max(level, 2)}", "c": _children(node, offset)}]
    if kind == "code_inline":
        return [{"t": "code", "c": [node.content]}]
    if kind in ("code_block", "fence"):
        return [{"t": "pre", "c": [{"t": "code", "c": [node.content]}]}]
    if kind == "hr":
        return [{"t": "hr", "c": []}]
    if kind == "image":  # the page loads nothing from elsewhere: an image is its description
        return _children(node, offset) or [str(node.attrs.get("alt") or "")]
    if kind == "link":
        href = str(node.attrs.get("href") or "")
        inner = _children(node, offset)
        if href.lower().startswith(("https://", "http://", "mailto:")):
            return [{"t": "a", "href": href, "c": inner}]
        return inner  # a relative or other link: its text only
    if kind == "ordered_list" and node.attrs.get("start") not in (None, 1):
        return [{"t": "ol", "start": int(node.attrs["start"]), "c": _children(node, offset)}]
    if kind in _BLOCK:
        return [{"t": _BLOCK[kind], "c": _children(node, offset)}]
    if kind in ("html_inline", "html_block"):  # not produced with html off; kept as text should that change
        return [node.content]
    return _children(node, offset)  # anything else: its content, without a tag of its own


def plain_text(nodes: list[Node]) -> str:
    """The text of a tree (for tests and for a terminal)."""
    return "".join(n if isinstance(n, str) else plain_text(n.get("c", [])) for n in nodes)
