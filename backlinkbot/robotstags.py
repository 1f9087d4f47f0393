"""Page-level robots directives from the ``X-Robots-Tag`` header.

A header value is a comma-separated list of directives, optionally scoped to
one crawler by a ``name:`` prefix (Google's documentation of X-Robots-Tag):
``noindex, nofollow``, ``backlinkbot: nofollow``, ``otherbot: noindex``. Only
unscoped directives and those scoped to our token apply.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ROBOTS_TOKEN", "RobotsDirectives", "parse_x_robots_tag"]

ROBOTS_TOKEN = "backlinkbot"
_DIRECTIVES = {"nofollow", "noindex", "none", "all", "index", "follow"}


class RobotsDirectives:
    __slots__ = ("nofollow", "noindex")

    def __init__(self, *, nofollow: bool = False, noindex: bool = False) -> None:
        self.nofollow = nofollow
        self.noindex = noindex


def parse_x_robots_tag(values: Iterable[str], *, token: str = ROBOTS_TOKEN) -> RobotsDirectives:
    """Directives for ``token`` from all X-Robots-Tag header values.

    >>> d = parse_x_robots_tag(["otherbot: nofollow", "backlinkbot: noindex"])
    >>> d.nofollow, d.noindex
    (False, True)
    """
    found = RobotsDirectives()
    for value in values:
        scope = None
        for part in value.split(","):
            part = part.strip().lower()
            if ":" in part:
                name, _, rest = part.partition(":")
                name = name.strip()
                if name not in _DIRECTIVES and not name.startswith("unavailable_after"):
                    scope = name
                    part = rest.strip()
            if scope not in (None, token):
                continue
            if part in ("nofollow", "none"):
                found.nofollow = True
            if part in ("noindex", "none"):
                found.noindex = True
    return found
