"""Seed formats, with bad lines, and queuing seeds into a crawl."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from backlinkbot.connection import CrawlKeys
from backlinkbot.frontier.bloom import BloomGeometry
from backlinkbot.seeds import Invalid, Seed, queue_seeds, read_lines, read_sources


def parsed(text: str) -> tuple[list[Seed], list[Invalid]]:
    items = list(read_lines(io.StringIO(text), "f"))
    return ([i for i in items if isinstance(i, Seed)], [i for i in items if isinstance(i, Invalid)])


def test_url_list_with_bad_lines() -> None:
    seeds, bad = parsed("https://Example.com/a\n\n# comment\nftp://x.org/\nhttp://\nhttp://b.org\n")
    assert [s.url for s in seeds] == ["https://example.com/a", "http://b.org/"]
    assert [(b.line, b.reason) for b in bad] == [
        (4, "not an http(s) URL"), (5, "not a usable URL (unparsable)"),
    ]  # fmt: skip


def test_bare_domains_become_home_pages() -> None:
    text = "example.com\nWWW.Example.co.uk/blog\nnot a domain\nlocalhost\nexample.com.\n"
    seeds, bad = parsed(text)
    assert [s.url for s in seeds] == [
        "http://example.com/", "http://www.example.co.uk/blog", "http://example.com/",
    ]  # fmt: skip
    assert [b.line for b in bad] == [3, 4]
    assert bad[0].reason == "not a URL or domain"


def test_rank_domain_csv_of_top_lists() -> None:
    # Tranco / Cloudflare Radar: rank,domain without a header.
    seeds, bad = parsed("1,google.com\n2,youtube.com\nx,bad.com\n3,\n4,a.com,extra\n")
    assert [(s.url, s.options) for s in seeds] == [
        ("http://google.com/", {"rank": 1}), ("http://youtube.com/", {"rank": 2}),
    ]  # fmt: skip
    assert [b.line for b in bad] == [3, 4, 5]


def test_csv_with_a_header_majestic() -> None:
    text = ("GlobalRank,TldRank,Domain,TLD,RefSubNets\n"
            "1,1,google.com,com,1\n2,2,facebook.com,com,1\n3,3\n")  # fmt: skip
    seeds, bad = parsed(text)
    assert [(s.url, s.options) for s in seeds] == [
        ("http://google.com/", {"rank": 1}), ("http://facebook.com/", {"rank": 2}),
    ]  # fmt: skip
    assert [(b.line, b.reason) for b in bad] == [(4, "CSV line without its domain column")]


def test_json_lines_with_options() -> None:
    text = "\n".join([
        json.dumps({"url": "https://a.org/x", "recrawl": True}),
        json.dumps({"domain": "b.org", "priority": 5}),
        '{"url": "https://c.org/", "prority": 5}',
        '{"url": "https://c.org/", "priority": true}',
        '{"recrawl": true}',
        "{not json",
        "[1, 2]",
    ])  # fmt: skip
    seeds, bad = parsed(text)
    assert [(s.url, s.options) for s in seeds] == [
        ("https://a.org/x", {"recrawl": True}), ("http://b.org/", {"priority": 5}),
    ]  # fmt: skip
    assert [b.line for b in bad] == [3, 4, 5, 6, 7]
    assert bad[0].reason.startswith("unknown option 'prority'")
    assert seeds[0].entry() == '{"recrawl": true, "url": "https://a.org/x"}'


def test_sources_read_stdin_and_files(tmp_path: Any) -> None:
    path = tmp_path / "s.txt"
    path.write_text("a.org\nbad line\n")
    out = read_sources([str(path), "-"], urls=["b.org"], stdin=io.StringIO("c.org\n"))
    assert [s.url for s in out.seeds] == ["http://b.org/", "http://a.org/", "http://c.org/"]
    assert [(b.source, b.line) for b in out.invalid] == [(str(path), 2)]
    with pytest.raises(OSError):
        read_sources([str(tmp_path / "missing")])


def test_queue_seeds_deduplicates_and_skips_seen(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    geometry = BloomGeometry.for_capacity(1000, 0.001)
    _shard, offsets = geometry.locate("http://seen.org/")
    for offset in offsets:
        redis_client.setbit(keys.dupefilter, offset, 1)
    seeds = [
        Seed("http://a.org/"), Seed("http://a.org/"), Seed("http://seen.org/"),
        Seed("http://seen.org/", {"recrawl": True}, "x"), Seed("http://www.b.org/x"),
    ]  # fmt: skip
    done = queue_seeds(redis_client, keys, seeds, geometry=geometry)
    assert (done.queued, done.duplicates, done.seen, done.skipped) == (2, 2, 1, 3)
    assert [x.decode() for x in redis_client.lrange(keys.start_urls, 0, -1)] == [
        "http://a.org/", "http://www.b.org/x",
    ]  # fmt: skip
    assert redis_client.smembers(keys.seed_hosts) == {b"a.org", b"www.b.org"}
    assert redis_client.smembers(keys.seed_domains) == {b"a.org", b"b.org"}
