"""Seeds as the user types them: URLs, bare domain names, a seed file.

A seed is an ``http://`` or ``https://`` URL, or a domain name with an
optional port and path (``example.com``, ``www.example.com/blog``), taken as
``https://`` and said so. Everything else is refused with the reason, and a
seed that the SSRF guard would refuse (a loopback or private address,
``localhost``) is named with the setting that allows it, before anything
runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from backlinkbot.commands.options import UsageError
from backlinkbot.refusals import LOCAL_WEB_DOC
from backlinkbot.safety.resolver import policy_from_settings
from backlinkbot.urlnorm import InvalidURL, normalize_url

__all__ = ["LOCAL_WEB_DOC", "Seeds", "parse_seeds", "read_seed_file", "ssrf_refusals"]

_NOT_WEB = ("mailto:", "javascript:", "data:", "tel:", "ftp:", "file:")


@dataclass
class Seeds:
    urls: list[str] = field(default_factory=list)
    #: (what was given, why it is refused)
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: (what was given, the URL it was taken as)
    completed: list[tuple[str, str]] = field(default_factory=list)


def read_seed_file(path: Path) -> list[str]:
    """The seeds of a file: one per line, ``#`` comments and blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"--seeds {path}: is a directory, not a file of seed URLs") from None
    except FileNotFoundError:
        raise UsageError(f"--seeds {path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"--seeds {path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"--seeds {path}: {exc.strerror}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _as_domain(text: str) -> str | None:
    """``https://<text>`` when ``text`` reads as a domain name (with an
    optional port and path), else None."""
    if "://" in text or text.lower().startswith(_NOT_WEB) or any(c.isspace() for c in text):
        return None
    candidate = f"https://{text}"
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:
        return None
    if "." not in host.strip("."):
        return None
    try:
        return normalize_url(candidate)
    except InvalidURL:
        return None


def parse_seeds(texts: list[str]) -> Seeds:
    seeds = Seeds()
    for text in texts:
        try:
            seeds.urls.append(normalize_url(text))
            continue
        except InvalidURL as exc:
            error = exc
        url = _as_domain(text)
        if url is not None:
            seeds.urls.append(url)
            seeds.completed.append((text, url))
            continue
        if "://" in text and not text.lower().startswith(("http://", "https://")):
            reason = "not an http(s) URL"
        elif "://" in text:
            reason = f"not a valid URL ({str(error).partition(':')[0]})"
        else:
            reason = "neither a URL nor a domain name (give https://example.com/ or example.com)"
        seeds.refused.append((text, reason))
    return seeds


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
