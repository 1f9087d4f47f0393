"""Assemble a :class:`SyntheticWeb`: render its resources, derive its truth.

The ground truth comes from the construction: which URL each link means, its
attributes and its section are all known before any HTML is written. The
crawl is simulated over those link specifications (seeds, robots rules by
hand, redirects), the links of each fetched page are merged per target as
the design's link semantics say, and edges are split by registrable domain.

Ground truth must not depend on the crawler's link-following policy, so
:meth:`WebBuilder.build` checks that following every link reaches exactly
the URLs that following only dofollow ``<a>`` links reaches.
"""

from __future__ import annotations

from collections import deque
from typing import Any
from urllib.parse import urlsplit

from backlinkbot.demoweb.model import File, Link, Page, Redirect, Resource, Site, SyntheticWeb
from backlinkbot.demoweb.render import render_page, walk
from backlinkbot.demoweb.spelling import spell

__all__ = ["ANCHOR_LIMIT", "WebBuilder"]

#: Anchors are cut to this many characters (docs/SCHEMA.md, ``anchor``).
ANCHOR_LIMIT = 256
_HTML = "text/html; charset=utf-8"
_FLAGS = ("nofollow", "ugc", "sponsored")


class WebBuilder:
    """Collects sites, pages and other resources, then builds the web."""

    def __init__(self, *, profile: str, seed: int) -> None:
        self.profile = profile
        self.seed = seed
        self.sites: dict[str, Site] = {}
        self.pages: dict[str, Page] = {}
        self.redirects: dict[str, Redirect] = {}
        self.files: dict[str, File] = {}
        self.dead: dict[str, str] = {}
        self.seeds: list[str] = []
        self.demo_target: str | None = None

    # -- construction ----------------------------------------------------

    def add_site(self, site: Site) -> Site:
        if site.host in self.sites or site.host in self.dead:
            raise ValueError(f"host {site.host!r} added twice")
        self.sites[site.host] = site
        return site

    def add_dead_host(self, host: str, *, domain: str) -> None:
        self.dead[host] = domain

    def add_page(self, page: Page) -> Page:
        self._claim(page.url)
        self.pages[page.url] = page
        return page

    def add_redirect(self, redirect: Redirect) -> Redirect:
        self._claim(redirect.url)
        self.redirects[redirect.url] = redirect
        return redirect

    def add_file(self, file: File) -> File:
        self._claim(file.url)
        self.files[file.url] = file
        return file

    def _claim(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.netloc not in self.sites:
            raise ValueError(f"resources live on http:// URLs of known sites, got {url!r}")
        if url in self.pages or url in self.redirects or url in self.files:
            raise ValueError(f"URL {url!r} defined twice")

    @property
    def unicode_hosts(self) -> dict[str, str]:
        return {h: s.unicode_host for h, s in self.sites.items() if s.unicode_host}

    # -- the web ---------------------------------------------------------

    def build(self) -> SyntheticWeb:
        domains = {h: s.domain for h, s in self.sites.items()} | self.dead
        resources = self._resources()
        pages, disallowed = self._crawl(follow_all=True)
        strict_pages, _ = self._crawl(follow_all=False)
        if pages.keys() != strict_pages.keys():
            only = sorted(pages.keys() ^ strict_pages.keys())
            raise AssertionError(f"reachable only through non-<a> or nofollow links: {only}")
        external: list[dict[str, Any]] = []
        internal: list[dict[str, Any]] = []
        for url in pages:
            for edge in self._edges(url, domains):
                same = edge["src_domain"] == edge["dst_domain"]
                (internal if same else external).append(edge)
        key = lambda e: (e["src"], e["dst"])  # noqa: E731
        return SyntheticWeb(
            profile=self.profile,
            seed=self.seed,
            resources=resources,
            hosts=set(self.sites),
            dead_hosts=set(self.dead),
            seeds=list(self.seeds),
            expected_edges=sorted(external, key=key),
            expected_pages=dict(sorted(pages.items())),
            internal_edges=sorted(internal, key=key),
            disallowed=disallowed,
            domains=domains,
            demo_target=self.demo_target,
        )

    def _resources(self) -> dict[str, Resource]:
        unicode_hosts = self.unicode_hosts
        out: dict[str, Resource] = {}
        for host, site in self.sites.items():
            if site.robots is not None:
                body = site.robots.encode("utf-8")
                out[f"http://{host}/robots.txt"] = Resource(
                    200, {"Content-Type": "text/plain; charset=utf-8"}, body
                )
        for url, page in self.pages.items():
            headers = {"Content-Type": _HTML}
            if page.header_nofollow:
                headers["X-Robots-Tag"] = "nofollow"
            out[url] = Resource(200, headers, render_page(page, unicode_hosts=unicode_hosts))
        for url, redirect in self.redirects.items():
            location = redirect.location or spell(redirect.dst, base=url)
            body = b"<!DOCTYPE html>\n<title>Moved</title>\n<p>This page has moved.</p>\n"
            headers = {"Content-Type": _HTML, "Location": location}
            out[url] = Resource(redirect.status, headers, body)
        for url, file in self.files.items():
            out[url] = Resource(200, {"Content-Type": file.content_type}, file.body)
        return out

    def _crawl(self, *, follow_all: bool) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Simulate the crawl: ``(fetched URL -> page info, disallowed URLs)``."""
        fetched: dict[str, dict[str, Any]] = {}
        disallowed: set[str] = set()
        queue = deque(self.seeds)
        seen = set(self.seeds)
        while queue:
            url = queue.popleft()
            parts = urlsplit(url)
            host = parts.netloc
            site = self.sites.get(host)
            if site is None and host not in self.dead:
                raise AssertionError(f"link to a host outside the web: {url!r}")
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if site is not None and parts.scheme == "https" and site.rules:
                # Scrapy's RobotsTxtMiddleware keys robots.txt by netloc alone:
                # a failed https://host/robots.txt would lift the http rules
                # too, and the truth would depend on which request came first.
                raise AssertionError(f"https link to a host with robots rules: {url!r}")
            if site is not None and parts.scheme == "http" and not site.allows(path):
                disallowed.add(url)
                continue
            fetched[url] = self._page_info(url)
            for link in self._follows(url, follow_all=follow_all):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
        return fetched, disallowed

    def _page_info(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.netloc in self.dead:
            # The server speaks plain HTTP only; dead hosts never answer.
            return {"status": None, "content_type": ""}
        if url in self.pages:
            return {"status": 200, "content_type": "text/html"}
        if url in self.redirects:
            return {"status": self.redirects[url].status, "content_type": "text/html"}
        if url in self.files:
            return {"status": 200, "content_type": self.files[url].content_type.lower()}
        return {"status": 404, "content_type": "text/html"}

    def _follows(self, url: str, *, follow_all: bool) -> list[str]:
        if url in self.redirects:
            return [self.redirects[url].dst] if follow_all else []
        page = self.pages.get(url)
        if page is None:
            return []
        nofollow_page = page.meta_nofollow or page.header_nofollow
        return [
            link.dst
            for link, _ in walk(page)
            if follow_all
            or (link.kind == "a" and not nofollow_page and "nofollow" not in link.rel_tokens)
        ]

    def _edges(self, url: str, domains: dict[str, str]) -> list[dict[str, Any]]:
        if url in self.redirects:
            dst = self.redirects[url].dst
            edge = _edge(url, dst, domains, kind="redirect", section="body")
            return [edge]
        page = self.pages.get(url)
        if page is None or urlsplit(url).scheme != "http":
            return []
        nofollow_page = page.meta_nofollow or page.header_nofollow
        merged: dict[str, dict[str, Any]] = {}
        for link, section in walk(page):
            occurrence = _occurrence(link, section, nofollow_page)
            seen = merged.get(link.dst)
            if seen is None:
                merged[link.dst] = _edge(url, link.dst, domains, **occurrence)
                continue
            # Merge rules: first non-empty anchor and alt; a flag holds only if
            # it holds for every occurrence; kind and section of the first.
            seen["anchor"] = seen["anchor"] or occurrence["anchor"]
            seen["alt"] = seen["alt"] or occurrence["alt"]
            for flag in ("image", *_FLAGS):
                seen[flag] = seen[flag] and occurrence[flag]
        return list(merged.values())


def _occurrence(link: Link, section: str, nofollow_page: bool) -> dict[str, Any]:
    anchor, alt, image = "", "", False
    if link.kind == "a" and link.image_alt is not None:
        alt, image = link.image_alt, True
    elif link.kind == "a":
        anchor = link.anchor
    elif link.kind == "area":
        alt = link.alt
    if anchor != " ".join(anchor.split()) or len(anchor) > ANCHOR_LIMIT:
        raise ValueError(f"expected anchors are collapsed and cut, got {anchor!r}")
    tokens = link.rel_tokens
    return {
        "anchor": anchor,
        "alt": alt,
        "image": image,
        "kind": link.kind,
        "nofollow": nofollow_page or "nofollow" in tokens,
        "ugc": "ugc" in tokens,
        "sponsored": "sponsored" in tokens,
        "section": section,
    }


def _edge(src: str, dst: str, domains: dict[str, str], **attrs: Any) -> dict[str, Any]:
    src_host, dst_host = urlsplit(src).netloc, urlsplit(dst).netloc
    edge: dict[str, Any] = {
        "src": src,
        "dst": dst,
        "src_host": src_host,
        "dst_host": dst_host,
        "src_domain": domains[src_host],
        "dst_domain": domains[dst_host],
        "anchor": "",
        "alt": "",
        "image": False,
        "kind": "a",
        "nofollow": False,
        "ugc": False,
        "sponsored": False,
        "section": "body",
    }
    edge.update(attrs)
    return edge
