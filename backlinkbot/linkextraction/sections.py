"""The section of a link: its nearest landmark ancestor (docs/LINK_EXTRACTION.md,
"Section").

Landmarks are WAI-ARIA's, with the implicit roles HTML-AAM gives HTML
elements (``<header>``, ``<nav>``, ``<footer>``, ``<aside>``, ``<main>``) or
set explicitly by ``role``; a ``<header>`` or ``<footer>`` scoped to a
sectioning element is no landmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backlinkbot.items import RawLink

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = ["assign_sections"]

_ROLE_SECTION = {
    "banner": "header",
    "navigation": "nav",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "main",
}
_TAG_SECTION = {"nav": "nav", "aside": "aside", "main": "main"}
_SCOPING_TAGS = frozenset({"article", "aside", "main", "nav", "section"})
_SCOPING_ROLES = frozenset({"article", "complementary", "main", "navigation", "region"})
_LINKS = "a[href], area[href]"


def _classify(element: LexborNode) -> tuple[str | None, bool]:
    """``(landmark section or None, scopes header/footer)`` of an element.

    ``"header"``/``"footer"`` here are tentative: they hold only when the
    element is not scoped.
    """
    tag = element.tag or ""
    role = element.attrs.get("role")
    roles = role.lower().split() if role else ()
    scoping = tag in _SCOPING_TAGS or any(r in _SCOPING_ROLES for r in roles)
    # ARIA: the first recognized token of a role list is the role. A role
    # that is no landmark leaves the element's own (a <nav role=menubar> is
    # still the page's navigation).
    for r in roles:
        if r in _ROLE_SECTION:
            return _ROLE_SECTION[r], scoping
    if tag in _TAG_SECTION:
        return _TAG_SECTION[tag], scoping
    if tag == "header" or tag == "footer":
        return "_" + tag, scoping
    return None, scoping


def assign_sections(
    anchors: list[tuple[RawLink, LexborNode]], candidates: list[LexborNode]
) -> None:
    """Set the ``section`` of each ``a``/``area`` link in ``anchors`` (pairs of
    link and element) from ``candidates``: every element that may be a
    landmark or scope one, in tree order."""
    # Asking each landmark for the links inside it (in C) is cheapest for a
    # handful of landmarks; nested ones make that landmarks times links, so
    # past a work budget a memoized walk up from each link takes over.
    marks = _by_landmark(candidates, 4 * len(anchors) + 1024)
    if marks is None:
        walker = _Walker({c.mem_id for c in candidates})
        for link, node in anchors:
            parent = node.parent
            if parent is not None:
                link.section = walker.section(parent)
        return
    for link, node in anchors:
        section = marks.get(node.mem_id)
        if section is not None:
            link.section = section


def _by_landmark(candidates: list[LexborNode], budget: int) -> dict[int, str] | None:
    """Section by link ``mem_id``; ``None`` when the work exceeds ``budget``."""
    marks: dict[int, str] = {}
    scoping: set[int] = set()
    work = 0
    for element in candidates:
        section, scopes = _classify(element)
        if scopes:
            scoping.add(element.mem_id)
        if section is None:
            continue
        if section[0] == "_":
            # Scoped if an ancestor scopes it; scoping elements come before
            # their descendants in tree order, so the set is complete here.
            parent = element.parent
            scoped = False
            while parent is not None and not scoped:
                work += 1
                scoped = parent.mem_id in scoping
                parent = parent.parent
            if scoped:
                continue
            section = section[1:]
        found = element.css(_LINKS)
        work += len(found)
        if work > budget:
            return None
        for link in found:
            marks[link.mem_id] = section
    return marks


class _Walker:
    """The nearest landmark of a node, memoized along ancestor chains."""

    __slots__ = ("candidates", "memo")

    def __init__(self, candidates: set[int]) -> None:
        self.candidates = candidates
        #: mem_id -> (section of its descendants, inside a scoping element).
        self.memo: dict[int, tuple[str, bool]] = {}

    def section(self, node: LexborNode) -> str:
        memo = self.memo
        chain: list[tuple[int, LexborNode]] = []
        state: tuple[str, bool] = ("body", False)
        current: LexborNode | None = node
        while current is not None:
            key = current.mem_id
            got = memo.get(key)
            if got is not None:
                state = got
                break
            chain.append((key, current))
            current = current.parent
        for key, element in reversed(chain):
            if key in self.candidates:
                found, scopes = _classify(element)
                section, scoped = state
                if found is not None and (found[0] != "_" or not scoped):
                    section = found.lstrip("_")
                state = (section, scoped or scopes)
            memo[key] = state
        return state[0]
