"""Scope decisions: a table of URL x scope, and the policy stored with the crawl."""

from __future__ import annotations

from typing import Any

import pytest

from backlinkbot.connection import CrawlKeys
from backlinkbot.scope import CrawlScope, ScopePolicy, SeedSets, load_policy, store_policy

SEEDS = SeedSets(hosts={"www.seed.com", "blog.other.org"}, domains={"seed.com", "other.org"})
URLS = [
    "http://www.seed.com/a",  # a seed host
    "http://shop.seed.com/",  # the seed domain, another host
    "http://other.org/",  # the domain of a seed host
    "http://elsewhere.net/",  # out of scope
    "http://ads.allowed.io/x",  # allowed domain (a subdomain of it)
    "http://www.seed.com/private/1",  # a denied URL pattern
    "http://spam.seed.com/",  # a denied domain inside a seed domain
]
ALLOW_DENY = {"allow_domains": ("allowed.io",), "deny_domains": ("spam.seed.com",),
              "deny_urls": (r"/private/",)}  # fmt: skip

#: scope, hops from an in-scope page -> hops out of scope per URL (None: not followed).
TABLE: list[tuple[str, dict[str, Any], list[int | None]]] = [
    ("all", {}, [0, 0, 0, 0, 0, 0, 0]),
    ("all", ALLOW_DENY, [0, 0, 0, 0, 0, None, None]),
    ("domains", {}, [0, 0, 0, None, None, 0, 0]),
    ("domains", {"hops": 1}, [0, 0, 0, 1, 1, 0, 0]),
    ("domains", ALLOW_DENY, [0, 0, 0, None, 0, None, None]),
    ("hosts", {}, [0, None, None, None, None, 0, None]),
    ("hosts", {"hops": 2}, [0, 1, 1, 1, 1, 0, 1]),
]


@pytest.mark.parametrize(("scope", "extra", "want"), TABLE)
def test_url_by_scope(scope: str, extra: dict[str, Any], want: list[int | None]) -> None:
    decide = CrawlScope(ScopePolicy(scope=scope, **extra), SEEDS)
    assert [decide.hops_to(u, 0) for u in URLS] == want


def test_hops_count_from_the_page() -> None:
    decide = CrawlScope(ScopePolicy(scope="domains", hops=2), SEEDS)
    assert decide.hops_to("http://elsewhere.net/", 1) == 2
    assert decide.hops_to("http://elsewhere.net/", 2) is None
    assert decide.hops_to("http://www.seed.com/", 2) == 0  # back in scope
    assert decide.split(["http://a.net/", "http://seed.com/", "http://b.net/"], 1) == {
        2: ["http://a.net/", "http://b.net/"], 0: ["http://seed.com/"],
    }  # fmt: skip


def test_a_seed_redirect_target_is_in_scope() -> None:
    seeds = SeedSets(hosts={"seed.com"}, domains={"seed.com"})
    decide = CrawlScope(ScopePolicy(scope="hosts"), seeds)
    assert decide.hops_to("https://www.seed.com/", 0) is None
    assert decide.hops_to("https://www.seed.com/", 0, redirect=True) == 0
    decide.adopt("https://www.seed.com/")
    assert decide.hops_to("https://www.seed.com/about", 0) == 0


def test_bad_policies_are_refused() -> None:
    for bad in ({"scope": "planet"}, {"hops": -1}, {"deny_urls": ("(",)}):
        with pytest.raises(ValueError):
            ScopePolicy(**bad)


def test_policy_is_stored_with_the_crawl(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    policy = ScopePolicy(scope="domains", hops=1, deny_urls=(r"\?page=",), max_domain_pages=50)
    assert load_policy(redis_client, keys) is None
    store_policy(redis_client, keys, policy)
    # A worker with other settings follows the crawl's policy.
    assert store_policy(redis_client, keys, ScopePolicy(), replace=False) == policy
    assert load_policy(redis_client, keys) == policy
    assert "seed domains" in policy.describe() and "50 pages per domain" in policy.describe()
