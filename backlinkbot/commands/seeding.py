"""Command-line options shared by ``crawl`` and ``seed``: seed files, scope.

Not a command itself: the seed sources (``--seeds FILE``, ``-`` for standard
input) read through :mod:`backlinkbot.seeds`, each bad line reported with its
place, and the scope options turned into a :class:`~backlinkbot.scope.ScopePolicy`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import IO, Any

from scrapy.settings import Settings

from backlinkbot import defaults
from backlinkbot.commands.options import UsageError, at_least
from backlinkbot.scope import SCOPES, ScopePolicy
from backlinkbot.seeds import Invalid, SeedFile, read_sources

__all__ = ["add_scope_arguments", "policy_from", "report_invalid", "scope_given", "seeds_from"]

#: Argument name -> the ScopePolicy field it sets.
_SCOPE_FIELDS = {
    "scope": "scope", "scope_hops": "hops", "allow_domain": "allow_domains",
    "deny_domain": "deny_domains", "allow_url": "allow_urls", "deny_url": "deny_urls",
    "max_domain_pages": "max_domain_pages",
}  # fmt: skip


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scope (docs/SCOPE.md; every link is recorded)")
    group.add_argument(
        "--scope",
        choices=SCOPES,
        help="follow links everywhere (all, the "
        "default), within the seeds' domains, or within the seeds' hosts",
    )
    group.add_argument(
        "--scope-hops",
        type=at_least(0),
        metavar="N",
        help="also follow N links out of scope (default 0)",
    )
    group.add_argument(
        "--allow-domain",
        action="append",
        metavar="DOMAIN",
        help="a domain in scope besides the seeds' (repeatable)",
    )
    group.add_argument(
        "--deny-domain",
        action="append",
        metavar="DOMAIN",
        help="a domain never followed into (repeatable)",
    )
    group.add_argument(
        "--allow-url",
        action="append",
        metavar="REGEX",
        help="URLs it matches are in scope (repeatable)",
    )
    group.add_argument(
        "--deny-url",
        action="append",
        metavar="REGEX",
        help="URLs it matches are never followed (repeatable)",
    )
    group.add_argument(
        "--max-domain-pages",
        type=at_least(0, zero_means="no limit"),
        metavar="N",
        help="pages per registrable domain, cluster-wide (default 0: no limit)",
    )


def scope_given(args: argparse.Namespace) -> bool:
    """Whether any scope option was given."""
    return any(getattr(args, name, None) is not None for name in _SCOPE_FIELDS)


def policy_from(args: argparse.Namespace, overrides: dict[str, str]) -> ScopePolicy:
    """The crawl's scope: the defaults, then ``-s`` settings, then options."""
    settings = Settings({k: getattr(defaults, k) for k in defaults.__all__})
    settings.setdict(overrides, priority="cmdline")
    try:
        policy = ScopePolicy.from_settings(settings)
        changes: dict[str, Any] = {
            field: tuple(value) if isinstance(value, list) else value
            for name, field in _SCOPE_FIELDS.items()
            if (value := getattr(args, name, None)) is not None
        }
        return replace(policy, **changes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def seeds_from(urls: list[str], files: list[str], *, command: str) -> SeedFile:
    """The seeds of ``urls`` and ``files`` (``-``: standard input)."""
    try:
        return read_sources(files, urls=urls)
    except OSError as exc:
        raise UsageError(
            f"cannot read seeds from {exc.filename}: {(exc.strerror or str(exc)).lower()}"
        ) from None


def report_invalid(invalid: list[Invalid], out: IO[str] = sys.stderr) -> None:
    """One line per bad seed line: what it says, where, and why."""
    for bad in invalid:
        print(f"ignoring seed {bad.text[:200]!r} ({bad.source}:{bad.line}): {bad.reason}",
              file=out)  # fmt: skip
