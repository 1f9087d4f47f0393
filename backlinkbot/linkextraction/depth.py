"""A bound on element nesting, so that hostile markup cannot stall the parser.

The HTML tree builder checks "has an element in scope" (HTML, "The stack of
open elements") for most block start and end tags, walking the stack. With
``<div>`` nested N deep that is O(N²): 100,000 nested ``<div>``s (500 KB)
keep Lexbor busy for about 45 seconds. Browsers bound the depth instead
(Blink stops nesting at 512 levels and inserts deeper elements as siblings).

:func:`limit_depth` does the same before parsing: it drops the start and end
tags of ordinary container elements nested deeper than a limit, keeping their
content, so every link survives; only the structure below the limit is
flattened (links there may lose their landmark section). It scans only
documents with more than :data:`SCAN_FROM` tags, so ordinary pages pay one
``str.count``, and it changes nothing in documents shallower than the limit.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["MAX_DEPTH", "SCAN_FROM", "limit_depth"]

#: Deepest nesting of container elements kept: Blink's limit
#: (``kMaximumHTMLParserDOMTreeDepth``). Each tag then costs the tree builder
#: at most a 512-element stack walk.
MAX_DEPTH = 512
#: Documents with fewer tags (``<``) than this are parsed as they are: at
#: worst, all of them nested, that costs Lexbor about 80 ms (18 ms at 4,096,
#: 390 ms at 16,384). The scan costs about 0.5 µs a tag.
SCAN_FROM = 8192

# Elements whose tags may be dropped: containers with no bearing on which
# links a document holds. Elements with optional end tags (p, li, td, ...)
# close each other and do not nest; void elements never nest; raw-text and
# foreign-content elements (script, svg, ...) and links are never touched.
# fmt: off
_CONTAINERS = frozenset((
    "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote", "button", "center",
    "cite", "code", "data", "del", "details", "dfn", "dialog", "dir", "div", "dl", "em",
    "fieldset", "figcaption", "figure", "font", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hgroup", "i", "ins", "kbd", "label", "legend", "listing", "main", "map",
    "mark", "menu", "nav", "nobr", "ol", "pre", "q", "s", "samp", "search", "section", "small",
    "span", "strike", "strong", "sub", "summary", "sup", "time", "tt", "u", "ul", "var",
))
# fmt: on
_END_TAGS = frozenset("/" + name for name in _CONTAINERS)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_TAG_TOKEN = re.compile(r"<(/?[A-Za-z][A-Za-z0-9]*)")


def _too_deep(html: str, max_depth: int) -> bool:
    """Whether :func:`limit_depth` would drop anything: the same scan over
    tag tokens only, about twice as fast, for the common answer."""
    stack: list[str] = []
    open_names: dict[str, int] = {}
    # Token -> container name ("div", "/div") or "" for any other tag.
    names: dict[str, str] = {}
    for token in _TAG_TOKEN.findall(html):
        name = names.get(token)
        if name is None:
            lowered = token.lower()
            name = names[token] = lowered if lowered in _CONTAINERS or lowered in _END_TAGS else ""
        if not name:
            continue
        if name[0] != "/":
            if len(stack) >= max_depth:
                return True
            stack.append(name)
            open_names[name] = open_names.get(name, 0) + 1
        elif open_names.get(name := name[1:]):
            while True:
                top = stack.pop()
                open_names[top] -= 1
                if top == name:
                    break
    return False


def limit_depth(html: str, *, max_depth: int = MAX_DEPTH, scan_from: int = SCAN_FROM) -> str:
    """``html`` with container tags nested deeper than ``max_depth`` removed.

    The tag scan is lexical (it does not know about comments, raw text or
    implied end tags), which is enough to bound the depth the parser sees.

    >>> limit_depth("<div><div><div><a href=x>t</a></div></div></div>", max_depth=2, scan_from=0)
    '<div><div><a href=x>t</a></div></div>'
    """
    if html.count("<") < scan_from or not _too_deep(html, max_depth):
        return html
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    parts: list[str] = []
    kept_from = 0
    for match in _TAG.finditer(html):
        if match.start() < kept_from:
            continue  # inside a tag dropped just before
        name = match.group(2).lower()
        if name not in _CONTAINERS:
            continue
        if not match.group(1):
            if len(stack) < max_depth:
                stack.append(name)
                open_names[name] += 1
                continue
            dropped[name] += 1
        elif dropped[name]:
            dropped[name] -= 1
        elif open_names[name]:
            # Pop to the matching element, as the end tag closes it.
            while stack:
                top = stack.pop()
                open_names[top] -= 1
                if top == name:
                    break
            continue
        else:
            # An end tag with nothing open to close: the parser ignores it
            # after a walk of a stack that is now at most max_depth deep.
            continue
        end = html.find(">", match.end())
        end = len(html) if end < 0 else end + 1
        parts.append(html[kept_from : match.start()])
        kept_from = end
    if not parts:
        return html
    parts.append(html[kept_from:])
    return "".join(parts)
