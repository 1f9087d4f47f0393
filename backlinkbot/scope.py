"""Scope: which discovered links a crawl follows (all are recorded).

A :class:`ScopePolicy` says where the crawl stays: within the seeds'
registrable domains (``domains``), within the seeds' hosts (``hosts``), or
everywhere (``all``, the default), plus ``hops`` links out of scope (a page
out of scope is fetched when it is at most that many links from one in
scope, so the targets of a site's external links get a status without their
sites being crawled), allow and deny lists of domains and URL patterns, and
a page budget per registrable domain (kept by
:class:`~backlinkbot.downloadermiddlewares.domainbudget.DomainBudget`).

The policy is the crawl's, not a worker's: it is stored in Redis
(``<prefix>:scope``) by ``backlinkbot crawl``, or by the first worker from
its settings, and every worker applies the stored one. The seeds' hosts and
domains are Redis sets (``<prefix>:seed_hosts``, ``<prefix>:seed_domains``)
that each worker keeps in memory and refreshes every few seconds.
docs/SCOPE.md describes it for users.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals

from backlinkbot.connection import CrawlKeys, redis_client
from backlinkbot.domains import registrable_domain
from backlinkbot.urlnorm import url_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = [
    "SCOPES",
    "SCOPE_HOPS_KEY",
    "CrawlScope",
    "ScopePolicy",
    "SeedSets",
    "load_policy",
    "scope_keys",
    "seed_sets_commands",
    "store_policy",
]

logger = logging.getLogger(__name__)

SCOPES = ("all", "domains", "hosts")
#: ``request.meta`` key: links followed out of scope to reach this request.
SCOPE_HOPS_KEY = "scope_hops"
#: Seconds between a worker's looks at the seed sets in Redis.
REFRESH_SECONDS = 2.0


def scope_keys(keys: CrawlKeys) -> dict[str, str]:
    """The Redis keys of a crawl's scope: its policy, the seed sets, and the
    per-domain page counts."""
    return {
        "policy": keys.scope,
        "hosts": keys.seed_hosts,
        "domains": keys.seed_domains,
        "domain_pages": keys.domain_pages,
    }


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({v.strip().lower().strip(".") for v in values if v.strip()}))


@dataclass(frozen=True)
class ScopePolicy:
    """Where a crawl follows links. Domains in the lists match themselves
    and their subdomains; URL patterns are regular expressions searched in
    the normalized URL."""

    scope: str = "all"
    hops: int = 0
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    allow_urls: tuple[str, ...] = ()
    deny_urls: tuple[str, ...] = ()
    max_domain_pages: int = 0
    _allow: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _deny: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.hops < 0 or self.max_domain_pages < 0:
            raise ValueError("scope hops and the domain page budget are 0 or more")
        object.__setattr__(self, "allow_domains", _names(self.allow_domains))
        object.__setattr__(self, "deny_domains", _names(self.deny_domains))
        for name in ("allow_urls", "deny_urls"):
            patterns = tuple(getattr(self, name))
            try:
                compiled = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
            except re.error as exc:
                raise ValueError(f"bad URL pattern in {name}: {exc}") from None
            object.__setattr__(self, name, patterns)
            object.__setattr__(self, "_allow" if name == "allow_urls" else "_deny", compiled)

    @classmethod
    def from_settings(cls, settings: Any) -> ScopePolicy:
        return cls(
            scope=str(settings.get("BACKLINKBOT_SCOPE") or "all").lower(),
            hops=settings.getint("BACKLINKBOT_SCOPE_HOPS"),
            allow_domains=tuple(settings.getlist("BACKLINKBOT_ALLOW_DOMAINS")),
            deny_domains=tuple(settings.getlist("BACKLINKBOT_DENY_DOMAINS")),
            allow_urls=tuple(settings.getlist("BACKLINKBOT_ALLOW_URLS")),
            deny_urls=tuple(settings.getlist("BACKLINKBOT_DENY_URLS")),
            max_domain_pages=settings.getint("BACKLINKBOT_MAX_DOMAIN_PAGES"),
        )

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ScopePolicy:
        data: dict[str, Any] = json.loads(text)
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**fields)

    @property
    def everywhere(self) -> bool:
        """Every link is followed: no check to make."""
        return self.scope == "all" and not (self.deny_domains or self.deny_urls)

    def describe(self) -> str:
        """One line for ``backlinkbot status``."""
        parts = [self.scope if self.scope == "all" else f"seed {self.scope}"]
        if self.hops:
            parts.append(f"+{self.hops} hop{'s' if self.hops > 1 else ''} out")
        for label, values in (("allow", self.allow_domains + self.allow_urls),
                              ("deny", self.deny_domains + self.deny_urls)):  # fmt: skip
            if values:
                parts.append(f"{label} {', '.join(values)}")
        if self.max_domain_pages:
            parts.append(f"{self.max_domain_pages} pages per domain")
        return "; ".join(parts)

    # -- decisions -------------------------------------------------------------

    def denied(self, url: str, host: str) -> bool:
        """A link never followed, in scope or not."""
        if self.deny_domains and _under(host, self.deny_domains):
            return True
        return self._deny is not None and self._deny.search(url) is not None

    def within(self, url: str, host: str, seeds: SeedSets) -> bool:
        """``url`` (of ``host``) is in scope (whether or not it is denied)."""
        if self.scope == "all":
            return True
        if self.allow_domains and _under(host, self.allow_domains):
            return True
        if self._allow is not None and self._allow.search(url) is not None:
            return True
        if self.scope == "hosts":
            return host in seeds.hosts
        return registrable_domain(host) in seeds.domains


def _under(host: str, domains: tuple[str, ...]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


def seed_sets_commands(keys: CrawlKeys, urls: list[str]) -> list[tuple[Any, ...]]:
    """The Redis commands that add the hosts and domains of seed ``urls`` to
    the crawl's seed sets (for a pipeline)."""
    hosts = {url_host(u) for u in urls} - {""}
    if not hosts:
        return []
    names = scope_keys(keys)
    domains = {registrable_domain(h) for h in hosts}
    return [("SADD", names["hosts"], *sorted(hosts)), ("SADD", names["domains"], *sorted(domains))]


def store_policy(server: redis.Redis, keys: CrawlKeys, policy: ScopePolicy, *,
                 replace: bool = True) -> ScopePolicy:  # fmt: skip
    """Store ``policy`` as the crawl's (``replace=False``: unless it has one);
    returns the crawl's policy."""
    key = scope_keys(keys)["policy"]
    if replace:
        server.set(key, policy.to_json())
        return policy
    if server.set(key, policy.to_json(), nx=True):
        return policy
    return load_policy(server, keys) or policy


def load_policy(server: redis.Redis, keys: CrawlKeys) -> ScopePolicy | None:
    """The crawl's stored policy, None when it has none."""
    raw = server.get(scope_keys(keys)["policy"])
    return ScopePolicy.from_json(raw) if raw else None


class SeedSets:
    """A worker's copy of the crawl's seed hosts and domains."""

    def __init__(self, server: Any = None, keys: CrawlKeys | None = None, *,
                 hosts: Iterable[str] = (), domains: Iterable[str] = ()) -> None:  # fmt: skip
        self.server = server
        self.keys = keys
        self.names = scope_keys(keys) if keys is not None else {}
        self.hosts: set[str] = set(hosts)
        self.domains: set[str] = set(domains)
        self._checked = float("-inf")

    def refresh(self) -> None:
        """Read the sets again when they grew, at most every
        :data:`REFRESH_SECONDS`; keeps the old copy while Redis is away."""
        if self.server is None or time.monotonic() - self._checked < REFRESH_SECONDS:
            return
        self._checked = time.monotonic()
        try:
            with self.server.pipeline(transaction=False) as pipe:
                pipe.scard(self.names["hosts"])
                pipe.scard(self.names["domains"])
                hosts, domains = pipe.execute()
            if hosts != len(self.hosts):
                self.hosts = self._members("hosts")
            if domains != len(self.domains):
                self.domains = self._members("domains")
        except redis.RedisError as exc:
            logger.warning("Could not read the crawl's seed sets: %s", exc)

    def _members(self, name: str) -> set[str]:
        return {_text(m) for m in self.server.sscan_iter(self.names[name], count=1000)}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class CrawlScope:
    """A worker's scope decisions: the crawl's policy and its seed sets."""

    def __init__(self, policy: ScopePolicy, seeds: SeedSets, stats: Any = None) -> None:
        self.policy = policy
        self.seeds = seeds
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlScope:
        """The settings' policy until the spider opens, then the crawl's."""
        scope = cls(ScopePolicy.from_settings(crawler.settings), SeedSets(), crawler.stats)
        settings = crawler.settings

        def opened() -> None:
            if not settings.get("REDIS_URL"):
                return
            server, keys = redis_client(settings), CrawlKeys.from_settings(settings)
            own = scope.policy
            scope.policy = store_policy(server, keys, own, replace=False)
            if scope.policy != own:
                logger.info("Following the crawl's scope (%s), not this worker's settings (%s)",
                            scope.policy.describe(), own.describe())  # fmt: skip
            scope.seeds = SeedSets(server, keys)

        crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
        return scope

    def adopt(self, url: str) -> None:
        """Make ``url``'s host and domain seeds: a seed redirected there (a
        seed ``example.com`` that answers from ``www.example.com``)."""
        if self.policy.everywhere:
            return
        commands = seed_sets_commands(self.seeds.keys, [url]) if self.seeds.keys else []
        host = url_host(url)
        self.seeds.hosts.add(host)
        self.seeds.domains.add(registrable_domain(host))
        if self.seeds.server is None:
            return
        try:
            with self.seeds.server.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Could not add %s to the crawl's seed sets: %s", host, exc)

    def hops_to(self, url: str, from_hops: int, *, redirect: bool = False) -> int | None:
        """Links out of scope behind a link to ``url`` from a page that is
        ``from_hops`` out of scope (0: in scope); None: not followed. The
        target of a seed's ``redirect`` (chain) is in scope."""
        policy = self.policy
        if policy.everywhere:
            return 0
        host = url_host(url)
        if policy.denied(url, host):
            return None
        if (redirect and from_hops == 0) or policy.within(url, host, self.seeds):
            return 0
        hops = from_hops + 1
        return hops if hops <= policy.hops else None

    def split(
        self, urls: list[str], from_hops: int = 0, *, redirect: bool = False
    ) -> dict[int, list[str]]:
        """``urls`` grouped by their hops out of scope, less those not
        followed (counted as ``backlinkbot/scope/out_of_scope``)."""
        if self.policy.everywhere:
            return {0: urls} if urls else {}
        self.seeds.refresh()
        groups: dict[int, list[str]] = {}
        left_out = 0
        for url in urls:
            hops = self.hops_to(url, from_hops, redirect=redirect)
            if hops is None:
                left_out += 1
            else:
                groups.setdefault(hops, []).append(url)
        if left_out and self.stats is not None:
            self.stats.inc_value("backlinkbot/scope/out_of_scope", left_out)
        return groups
