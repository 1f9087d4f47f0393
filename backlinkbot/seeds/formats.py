"""Seed lines into seed URLs, with a numbered error for each bad line.

One line is one seed, in whichever of these forms it comes:

- a URL (``https://example.com/blog/``), normalized as every URL is;
- a bare domain or host (``example.com``, ``www.example.com/path``): its
  ``http://`` home page (an ``https`` site redirects, and the redirect is
  followed);
- a CSV row of a top-site list: ``rank,domain`` (Tranco, Cloudflare Radar),
  or any CSV with a header naming a ``domain`` column (Majestic Million's
  ``GlobalRank,TldRank,Domain,...``); the rank is kept with the seed;
- a JSON object: ``{"url": ...}`` or ``{"domain": ...}`` with per-seed
  options (:data:`OPTIONS`).

Blank lines and ``#`` comments are skipped. A file is read line by line, so a
million-line list costs memory for its seeds only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from backlinkbot.urlnorm import InvalidURL, normalize_url

__all__ = [
    "OPTIONS",
    "BadSeed",
    "Invalid",
    "Seed",
    "SeedFile",
    "parse_line",
    "read_lines",
    "read_sources",
]

#: Options a JSON seed may carry, and the type each must have.
OPTIONS: dict[str, type] = {"recrawl": bool, "priority": int, "rank": int}

_HOST = re.compile(
    r"(?=.{1,253}(?:[/?#]|$))"  # the host part is at most 253 characters
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\.?"  # labels, a TLD
    r"(?::\d{1,5})?(?:[/?#].*)?$",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class BadSeed(ValueError):
    """A line that is no seed; :attr:`reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Seed:
    """A seed URL (normalized) and its options (``recrawl``, ``priority``,
    ``rank``); ``source`` names where it was read (``file:line``)."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def entry(self) -> str:
        """What goes to ``<prefix>:start_urls``: the URL, or a JSON object
        when the seed has options."""
        if not self.options:
            return self.url
        return json.dumps({"url": self.url, **self.options}, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line that is no seed: where it is, what it says, and why."""

    source: str
    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}: {self.text[:200]!r}"


@dataclass
class SeedFile:
    """What reading seed sources gave: seeds in order, and bad lines."""

    seeds: list[Seed] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)


def _home(text: str) -> str:
    """The URL a bare domain or host (with an optional path) stands for."""
    if not _HOST.match(text):
        raise BadSeed("not a URL or domain")
    if "/" not in text.split("?", 1)[0].split("#", 1)[0]:
        text = text.replace("?", "/?", 1) if "?" in text else text + "/"
    return normalize_url("http://" + text)


def _url(text: str) -> str:
    """``text`` (a URL or a bare domain) as a normalized URL."""
    try:
        if _SCHEME.match(text):
            if not text.lower().startswith(("http://", "https://")):
                raise BadSeed("not an http(s) URL")
            return normalize_url(text)
        return _home(text)
    except InvalidURL as exc:
        raise BadSeed(f"not a usable URL ({exc.reason})") from None


def _json_seed(text: str) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadSeed(f"bad JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise BadSeed("a JSON seed is an object")
    where = data.pop("url", None) or data.pop("domain", None)
    if not isinstance(where, str) or not where:
        raise BadSeed('a JSON seed needs "url" or "domain"')
    options: dict[str, Any] = {}
    for name, value in data.items():
        kind = OPTIONS.get(name)
        if kind is None:
            raise BadSeed(f"unknown option {name!r} (known: {', '.join(sorted(OPTIONS))})")
        # bool is an int in Python: a priority of true is a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BadSeed(f"option {name!r} must be {kind.__name__}")
        options[name] = value
    return _url(where), options


class _CSV:
    """The columns of a CSV list, once its header (if any) is read."""

    def __init__(self) -> None:
        self.domain: int | None = None
        self.rank: int | None = None

    def header(self, fields: list[str]) -> bool:
        """Take ``fields`` as the header if it names a domain column."""
        names = [f.strip().lower() for f in fields]
        if "domain" not in names:
            return False
        self.domain = names.index("domain")
        ranks = [i for i, n in enumerate(names) if n in ("rank", "globalrank")]
        self.rank = ranks[0] if ranks else None
        return True

    def row(self, fields: list[str]) -> tuple[str, dict[str, Any]]:
        if self.domain is None:  # no header: rank,domain
            if len(fields) != 2 or not fields[0].strip().isdigit():
                raise BadSeed("a CSV seed line is rank,domain")
            return _url(fields[1].strip()), {"rank": int(fields[0])}
        if len(fields) <= self.domain:
            raise BadSeed("CSV line without its domain column")
        options: dict[str, Any] = {}
        rank = ""
        if self.rank is not None and self.rank < len(fields):
            rank = fields[self.rank].strip()
        if rank.isdigit():
            options["rank"] = int(rank)
        return _url(fields[self.domain].strip()), options


def parse_line(text: str, csv: _CSV | None = None) -> tuple[str, dict[str, Any]] | None:
    """``(url, options)`` of one seed line, None for a blank line or a
    comment; raises :class:`BadSeed` (its reason says why) for a bad one."""
    text = text.strip().lstrip("\ufeff")
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _json_seed(text)
    if "," in text and not _SCHEME.match(text):
        return (csv or _CSV()).row(text.split(","))
    return _url(text), {}


def read_lines(
    lines: Iterable[str], source: str = "-", *, header: bool = True
) -> Iterator[Seed | Invalid]:
    """The seeds and bad lines of ``lines``, in order (line numbers from 1).
    With ``header``, a first line that names a ``domain`` column is a CSV
    header."""
    csv = _CSV()
    for number, line in enumerate(lines, 1):
        first = header and number == 1 and "," in line
        if first and csv.header(line.strip().lstrip("\ufeff").split(",")):
            continue
        try:
            parsed = parse_line(line, csv)
        except BadSeed as exc:
            yield Invalid(source, number, line.strip(), exc.reason)
            continue
        if parsed is not None:
            yield Seed(parsed[0], parsed[1], f"{source}:{number}")


def read_sources(
    sources: Iterable[str], *, urls: Iterable[str] = (), stdin: IO[str] | None = None
) -> SeedFile:
    """Seeds from ``urls`` (given on the command line) and from each file of
    ``sources`` (``-`` is standard input). An unreadable file is an
    :class:`OSError`, as for any command that is given one."""
    out = SeedFile()

    def take(items: Iterable[Seed | Invalid]) -> None:
        for item in items:
            (out.seeds if isinstance(item, Seed) else out.invalid).append(item)  # type: ignore[arg-type]

    take(read_lines(urls, "argument", header=False))
    for source in sources:
        if source == "-":
            take(read_lines(stdin or sys.stdin, "-"))
            continue
        with open(source, encoding="utf-8", errors="replace") as lines:
            take(read_lines(lines, source))
    return out
