"""Fetches a crawl refused on purpose, by reason, with the setting that
governs each: what a crawl's summary says when it fetched less than asked.

The counters are the workers' (``backlinkbot/ssrf/refused/<reason>``,
``backlinkbot/traps/<kind>``, Scrapy's ``robotstxt/forbidden``); the kinds
of trap and their settings are those of docs/SAFETY.md.
"""

from __future__ import annotations

__all__ = ["LOCAL_WEB_DOC", "refused_fetches"]

#: Where a user reads how to crawl a local or private test web.
LOCAL_WEB_DOC = "docs/LOCAL_WEB.md"

_SSRF = f"the SSRF guard; BACKLINKBOT_SSRF_ALLOW allows them, see {LOCAL_WEB_DOC}"
_TRAPS = {
    "url_too_long": "BACKLINKBOT_MAX_URL_LENGTH",
    "too_deep": "BACKLINKBOT_MAX_DEPTH, DEPTH_LIMIT, --max-depth",
    "repeated_path": "BACKLINKBOT_TRAP_PATH_REPEATS",
    "query_variants": "BACKLINKBOT_TRAP_QUERY_VARIANTS",
    "redirect_chain": "BACKLINKBOT_MAX_REDIRECTS",
    "host_budget": "BACKLINKBOT_MAX_HOST_PAGES",
}


def refused_fetches(stats: dict[str, int]) -> list[tuple[str, int, str]]:
    """(reason, fetches refused, what governs it), the most frequent first.

    >>> refused_fetches({"robotstxt/forbidden": 2, "backlinkbot/ssrf/refused/loopback": 1})[0]
    ('robots.txt', 2, 'ROBOTSTXT_OBEY')
    """
    found = []
    for name, count in stats.items():
        if count <= 0:
            continue
        if name == "robotstxt/forbidden":
            found.append(("robots.txt", count, "ROBOTSTXT_OBEY"))
        elif name.startswith("backlinkbot/ssrf/refused/"):
            found.append((_address(name.rsplit("/", 1)[1]), count, _SSRF))
        elif name.startswith("backlinkbot/traps/"):
            kind = name.rsplit("/", 1)[1]
            found.append((kind, count, _TRAPS.get(kind, "docs/SAFETY.md")))
    return sorted(found, key=lambda refusal: (-refusal[1], refusal[0]))


def _address(reason: str) -> str:
    """``loopback`` → loopback address, ``dns_private`` → name of a private
    address, ``local_name`` → localhost name."""
    if reason == "local_name":
        return "localhost name"
    if reason.startswith("dns_"):
        return f"name of a {reason.removeprefix('dns_')} address"
    return f"{reason} address"
