"""Seeds the SSRF guard would refuse, found before anything runs.

A seed on a loopback or private address (or ``localhost``) is named with the
setting that allows it; the seed formats themselves are read by
:mod:`backlinkbot.seeds`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from backlinkbot.refusals import LOCAL_WEB_DOC
from backlinkbot.safety.resolver import policy_from_settings

__all__ = ["LOCAL_WEB_DOC", "ssrf_refusals"]


def ssrf_refusals(urls: list[str], settings: BaseSettings) -> list[tuple[str, str]]:
    """The seeds the SSRF guard would refuse, with the reason (``loopback``,
    ``private``, ``local_name``...), under ``settings``."""
    if not settings.getbool("BACKLINKBOT_SSRF_GUARD"):
        return []
    policy = policy_from_settings(settings)
    refused = []
    for url in urls:
        host = urlsplit(url).hostname or ""
        reason = policy.refusal(host)
        if reason is not None:
            refused.append((url, reason))
    return refused
