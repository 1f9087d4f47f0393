"""A bound on element nesting, applied before parsing, so hostile markup cannot
stall the tree builder (docs/LINK_EXTRACTION.md, "Deep nesting").

:func:`limit_depth` drops the start and end tags of ordinary container
elements nested deeper than Blink's limit, keeping their content, so every
link survives; documents within the limit are returned unchanged.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["MAX_DEPTH", "SCAN_FROM", "limit_depth"]

#: Deepest nesting of container elements kept: Blink's limit
#: (``kMaximumHTMLParserDOMTreeDepth``). Each tag then costs the tree builder
#: at most a 512-element stack walk.
MAX_DEPTH = 512
#: Documents with fewer tags (``<``) than this are parsed as they are: even
#: all nested, they cost the tree builder little (docs/LINK_EXTRACTION.md).
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


def _container_token(token: str) -> str:
    """``token`` ("div", "/DIV", "a") lowercased if it opens or closes a
    container element; "" for any other tag."""
    lowered = token.lower()
    return lowered if lowered in _CONTAINERS or lowered in _END_TAGS else ""


def _pop_to(stack: list[str], open_names: Counter[str], name: str) -> None:
    """Pop the open elements down to the last ``name``, as its end tag does."""
    while True:
        top = stack.pop()
        open_names[top] -= 1
        if top == name:
            return


def _too_deep(html: str, max_depth: int) -> bool:
    """Whether :func:`limit_depth` would drop anything: the same scan over
    tag tokens only, about twice as fast, for the common answer."""
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    names: dict[str, str] = {}  # token -> _container_token(token)
    for token in _TAG_TOKEN.findall(html):
        name = names.get(token)
        if name is None:
            name = names[token] = _container_token(token)
        if not name:
            continue
        if name[0] != "/":
            if len(stack) >= max_depth:
                return True
            stack.append(name)
            open_names[name] += 1
        elif open_names[name[1:]]:
            _pop_to(stack, open_names, name[1:])
    return False


class _Flattener:
    """Which container tags :func:`limit_depth` drops, tag after tag."""

    __slots__ = ("dropped", "max_depth", "open_names", "stack")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.stack: list[str] = []
        self.open_names: Counter[str] = Counter()
        #: Start tags dropped, by name, whose end tags are to go too.
        self.dropped: Counter[str] = Counter()

    def drops_start(self, name: str) -> bool:
        if len(self.stack) < self.max_depth:
            self.stack.append(name)
            self.open_names[name] += 1
            return False
        self.dropped[name] += 1
        return True

    def drops_end(self, name: str) -> bool:
        if self.dropped[name]:
            self.dropped[name] -= 1
            return True
        # An end tag with nothing open to close is kept: the parser ignores
        # it after a walk of a stack that is now at most max_depth deep.
        if self.open_names[name]:
            _pop_to(self.stack, self.open_names, name)
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
    flattener = _Flattener(max_depth)
    parts: list[str] = []
    kept_from = 0
    for match in _TAG.finditer(html):
        if match.start() < kept_from:
            continue  # inside a tag dropped just before
        name = match.group(2).lower()
        if name not in _CONTAINERS:
            continue
        drops = flattener.drops_end if match.group(1) else flattener.drops_start
        if drops(name):
            end = html.find(">", match.end())
            parts.append(html[kept_from : match.start()])
            kept_from = len(html) if end < 0 else end + 1
    parts.append(html[kept_from:])
    return "".join(parts)
