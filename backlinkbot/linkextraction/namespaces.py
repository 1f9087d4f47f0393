"""The namespace of an element (HTML, SVG or MathML), read off its ancestors.

selectolax does not expose the namespace the tree builder gave an element, and
its selectors ignore it: ``base`` matches an SVG ``<base>`` as well. The HTML
Standard's tree construction decides it from the ancestors alone ("foreign
content"): ``<svg>`` and ``<math>`` open a foreign namespace; SVG
``<foreignObject>``, ``<desc>`` and ``<title>`` and MathML ``<mi>``,
``<mo>``, ``<mn>``, ``<ms>``, ``<mtext>`` and ``<annotation-xml
encoding=text/html>`` (the integration points) go back to HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = ["HTML", "MATHML", "SVG", "namespace"]

HTML = "html"
SVG = "svg"
MATHML = "math"

# Elements whose children may be in another namespace than their own.
_BOUNDARIES = frozenset(
    {"svg", "math", "foreignObject", "desc", "title", "mi", "mo", "mn", "ms", "mtext"}
    | {"annotation-xml"}
)
_SVG_INTEGRATION = frozenset({"foreignObject", "desc", "title"})
_MATHML_TEXT_INTEGRATION = frozenset({"mi", "mo", "mn", "ms", "mtext"})
_HTML_ENCODINGS = frozenset({"text/html", "application/xhtml+xml"})


def _in_html(element: LexborNode) -> str:
    # An HTML <foreignObject> or <mi> is an unknown element, no boundary.
    tag = element.tag
    return SVG if tag == "svg" else MATHML if tag == "math" else HTML


def _in_svg(element: LexborNode) -> str:
    return HTML if element.tag in _SVG_INTEGRATION else SVG


def _in_mathml(element: LexborNode) -> str:
    tag = element.tag
    if tag in _MATHML_TEXT_INTEGRATION:
        return HTML
    if tag == "annotation-xml":
        encoding = (element.attrs.get("encoding") or "").lower()
        return HTML if encoding in _HTML_ENCODINGS else MATHML
    parent = element.parent
    if tag == "svg" and parent is not None and parent.tag == "annotation-xml":
        return SVG  # <svg> in <annotation-xml> starts SVG content
    return MATHML


# The namespace the children of a boundary element get, by its own namespace.
_CHILDREN = {HTML: _in_html, SVG: _in_svg, MATHML: _in_mathml}


def namespace(node: LexborNode) -> str:
    """:data:`HTML`, :data:`SVG` or :data:`MATHML`: the namespace of ``node``.

    >>> from selectolax.lexbor import LexborHTMLParser
    >>> tree = LexborHTMLParser("<svg><a></a><foreignObject><a></a></foreignObject></svg>")
    >>> [namespace(a) for a in tree.css("a")]
    ['svg', 'html']
    """
    boundaries: list[LexborNode] = []
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.tag in _BOUNDARIES:
            boundaries.append(ancestor)
        ancestor = ancestor.parent
    own = HTML
    for element in reversed(boundaries):
        own = _CHILDREN[own](element)
    return own
