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
    from selectolax.lexbor import LexborAttributes, LexborNode

__all__ = ["assign_sections"]

_ROLE_SECTION = {
    "banner": "header",
    "navigation": "nav",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "main",
}
_TAG_SECTION = {tag: tag for tag in ("header", "nav", "footer", "aside", "main")}
# What makes a landmark element generic (HTML-AAM): a <header> or <footer>
# inside sectioning content, <main> or an element with such a role; an
# <aside> without an accessible name inside sectioning content (Chromium
# does not count roles, or <main>, there).
_SCOPED_HEADER = 1
_SCOPED_ASIDE = 2
_SCOPING_TAGS = {"article": 3, "aside": 3, "nav": 3, "section": 3, "main": _SCOPED_HEADER}
_SCOPING_ROLES = frozenset({"article", "complementary", "main", "navigation", "region"})
_NAMING = ("aria-label", "aria-labelledby", "title")
_LINKS = "a[href], area[href]"


def _classify(element: LexborNode) -> tuple[str | None, int, int]:
    """``(landmark section or None, scoped by, scopes)`` of an element.

    The section holds only if no ancestor's ``scopes`` mask shares a bit with
    ``scoped by`` (0: it holds wherever the element is).
    """
    tag = element.tag or ""
    attrs = element.attrs
    role = attrs.get("role")
    roles = role.lower().split() if role else ()
    scopes = _SCOPING_TAGS.get(tag, 0)
    if any(r in _SCOPING_ROLES for r in roles):
        scopes |= _SCOPED_HEADER
    # ARIA: the first recognized token of a role list is the role. A role
    # that is no landmark leaves the element's own (a <nav role=menubar> is
    # still the page's navigation).
    for r in roles:
        if r in _ROLE_SECTION:
            return _ROLE_SECTION[r], 0, scopes
    section = _TAG_SECTION.get(tag)
    return section, _scoped_by(section, attrs), scopes


def _scoped_by(section: str | None, attrs: LexborAttributes) -> int:
    if section == "header" or section == "footer":
        return _SCOPED_HEADER
    if section == "aside" and not any((attrs.get(name) or "").strip() for name in _NAMING):
        return _SCOPED_ASIDE  # an accessible name makes it a landmark anywhere
    return 0


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
    scoping: dict[int, int] = {}
    work = 0
    for element in candidates:
        section, scoped_by, scopes = _classify(element)
        if scopes:
            scoping[element.mem_id] = scopes
        if section is None:
            continue
        if scoped_by:
            # Scoping elements come before their descendants in tree order,
            # so the map is complete for the ancestors here.
            steps, scoped = _scoped(element, scoping, scoped_by)
            work += steps
            if scoped:
                continue
        found = element.css(_LINKS)
        work += len(found)
        if work > budget:
            return None
        for link in found:
            marks[link.mem_id] = section
    return marks


def _scoped(element: LexborNode, scoping: dict[int, int], mask: int) -> tuple[int, bool]:
    """``(ancestors walked, whether one scopes element by mask)``."""
    steps = 0
    parent = element.parent
    while parent is not None:
        steps += 1
        if scoping.get(parent.mem_id, 0) & mask:
            return steps, True
        parent = parent.parent
    return steps, False


class _Walker:
    """The nearest landmark of a node, memoized along ancestor chains."""

    __slots__ = ("candidates", "memo")

    def __init__(self, candidates: set[int]) -> None:
        self.candidates = candidates
        #: mem_id -> (section of its descendants, scopes of their ancestors).
        self.memo: dict[int, tuple[str, int]] = {}

    def section(self, node: LexborNode) -> str:
        memo = self.memo
        chain: list[tuple[int, LexborNode]] = []
        state: tuple[str, int] = ("body", 0)
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
                found, scoped_by, scopes = _classify(element)
                section, scoped = state
                if found is not None and not scoped & scoped_by:
                    section = found
                state = (section, scoped | scopes)
            memo[key] = state
        return state[0]
