"""The synthetic web: determinism, ground truth checked by an oracle, server."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import lxml.html
import pytest
from protego import Protego
from publicsuffixlist import PublicSuffixList

from backlinkbot import USER_AGENT
from backlinkbot.demoweb import DemoWebServer, generate_web
from backlinkbot.demoweb.__main__ import main
from backlinkbot.demoweb.spelling import spell

WEBS = [("test", 1), ("test", 2), ("test", 3), ("demo", 1)]
EDGE_KEYS = {
    "src",
    "dst",
    "src_host",
    "dst_host",
    "src_domain",
    "dst_domain",
    "anchor",
    "alt",
    "image",
    "kind",
    "nofollow",
    "ugc",
    "sponsored",
    "section",
}


@pytest.fixture(scope="module", params=WEBS, ids=[f"{p}-{s}" for p, s in WEBS])
def web(request):
    profile, seed = request.param
    return generate_web(profile=profile, seed=seed)


@pytest.fixture(scope="module")
def test_web():
    return generate_web(profile="test", seed=1)


@pytest.fixture(scope="module")
def server(test_web):
    with DemoWebServer(test_web) as running:
        yield running


# -- an independent oracle: lxml + urllib.parse ---------------------------

_TRACKING = re.compile(r"utm_.*|gclid|fbclid|msclkid")
_LANDMARKS = {
    "header": "header",
    "nav": "nav",
    "footer": "footer",
    "aside": "aside",
    "main": "main",
}
_ROLES = {
    "banner": "header",
    "navigation": "nav",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "main",
}


def _remove_dot_segments(path):
    # RFC 3986, section 5.2.4, written out on segments.
    out = []
    segments = path.split("/")
    for i, seg in enumerate(segments[1:], 1):
        last = i == len(segments) - 1
        if seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        elif seg == ".":
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def oracle_url(href, base):
    try:
        parts = urlsplit(urljoin(base, href.strip()))
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".")
    if re.search(r"[\s<>\[\]]", host):
        return None
    host = host.encode("idna").decode("ascii")
    netloc = host if port in (None, {"http": 80, "https": 443}[parts.scheme]) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.fullmatch(k)
    )
    out = f"{parts.scheme}://{netloc}{_remove_dot_segments(parts.path or '/')}"
    out += f"?{urlencode(query)}" if query else ""
    return out if len(out) <= 2048 else None


def _section(el):
    for anc in el.iterancestors():
        if anc.tag in _LANDMARKS:
            return _LANDMARKS[anc.tag]
        if anc.get("role") in _ROLES:
            return _ROLES[anc.get("role")]
    return "body"


def oracle_links(url, resource):
    """(dst, attributes) of every link on a page, in document order."""
    doc = lxml.html.document_fromstring(resource.body.decode("utf-8"))
    base = url
    for el in doc.iter("base"):
        base = urljoin(url, el.get("href").strip())
        break
    robots = [m.get("content", "").lower() for m in doc.iter("meta") if m.get("name") == "robots"]
    page_nofollow = any("nofollow" in r for r in robots) or "nofollow" in resource.headers.get(
        "X-Robots-Tag", ""
    )
    for el in doc.iter("a", "area", "link", "meta"):
        if any(anc.tag == "template" for anc in el.iterancestors()):
            continue
        rel = (el.get("rel") or "").lower().split()
        if el.tag in ("a", "area") and el.get("href") is not None:
            href, kind = el.get("href"), el.tag
        elif el.tag == "link" and "canonical" in rel:
            href, kind = el.get("href"), "canonical"
        elif el.tag == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            href, kind = el.get("content").split("url=", 1)[1], "meta_refresh"
        else:
            continue
        dst = oracle_url(href, base)
        if dst is None:
            continue
        children = list(el)
        image = (
            kind == "a"
            and len(children) == 1
            and children[0].tag == "img"
            and not (el.text_content().strip())
        )
        alt = el.get("alt", "") if kind == "area" else (children[0].get("alt", "") if image else "")
        anchor = " ".join(el.text_content().split())[:256] if kind == "a" else ""
        yield (
            dst,
            {
                "anchor": anchor,
                "alt": alt,
                "image": image,
                "kind": kind,
                "nofollow": page_nofollow or "nofollow" in rel,
                "ugc": "ugc" in rel,
                "sponsored": "sponsored" in rel,
                "section": _section(el) if kind in ("a", "area") else "body",
            },
        )


def oracle_edges(web):
    psl = PublicSuffixList()
    edges = {}
    for src, info in web.expected_pages.items():
        resource = web.resources.get(src)
        if resource is None or info["status"] is None:
            continue
        if 300 <= resource.status < 400:
            found = [(oracle_url(resource.headers["Location"], src), {"kind": "redirect"})]
        elif info["content_type"] == "text/html" and resource.status == 200:
            found = list(oracle_links(src, resource))
        else:
            found = []
        for dst, attrs in found:
            edge = edges.get((src, dst))
            if edge is None:
                src_host, dst_host = urlsplit(src).hostname, urlsplit(dst).hostname
                edges[(src, dst)] = {
                    "src": src,
                    "dst": dst,
                    "src_host": src_host,
                    "dst_host": dst_host,
                    "src_domain": psl.privatesuffix(src_host),
                    "dst_domain": psl.privatesuffix(dst_host),
                    "anchor": "",
                    "alt": "",
                    "image": False,
                    "kind": "a",
                    "nofollow": False,
                    "ugc": False,
                    "sponsored": False,
                    "section": "body",
                    **attrs,
                }
                continue
            edge["anchor"] = edge["anchor"] or attrs["anchor"]
            edge["alt"] = edge["alt"] or attrs["alt"]
            for flag in ("image", "nofollow", "ugc", "sponsored"):
                edge[flag] = edge[flag] and attrs[flag]
    return edges


def oracle_crawl(web):
    """Fetch from the seeds, following every oracle link, obeying protego."""
    robots = {}
    pages, disallowed = {}, set()
    queue, seen = deque(web.seeds), set(web.seeds)
    while queue:
        url = queue.popleft()
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme == "http" and host in web.hosts:
            if host not in robots:
                txt = web.resources.get(f"http://{host}/robots.txt")
                robots[host] = Protego.parse(txt.body.decode() if txt else "")
            if not robots[host].can_fetch(url, USER_AGENT):
                disallowed.add(url)
                continue
        if parts.scheme != "http" or host in web.dead_hosts:
            pages[url] = {"status": None, "content_type": ""}
            continue
        resource = web.resources.get(url)
        if resource is None:
            pages[url] = {"status": 404, "content_type": "text/html"}
            continue
        ctype = resource.headers["Content-Type"].split(";")[0].strip().lower()
        pages[url] = {"status": resource.status, "content_type": ctype}
        if 300 <= resource.status < 400:
            targets = [oracle_url(resource.headers["Location"], url)]
        elif ctype == "text/html":
            targets = [dst for dst, _ in oracle_links(url, resource)]
        else:
            targets = []
        for dst in targets:
            if dst not in seen:
                seen.add(dst)
                queue.append(dst)
    return pages, disallowed


# -- the generator ---------------------------------------------------------


def test_deterministic():
    one, two = generate_web(seed=7), generate_web(seed=7)
    assert one.truth() == two.truth()
    assert one.resources == two.resources
    assert generate_web(seed=8).resources != one.resources


def test_unknown_profile():
    with pytest.raises(ValueError, match="'nope'"):
        generate_web(profile="nope")


def test_edges_come_from_fetched_pages(web):
    for edge in web.expected_edges + web.internal_edges:
        assert set(edge) == EDGE_KEYS
        assert web.expected_pages[edge["src"]]["status"] is not None
    assert all(e["src_domain"] != e["dst_domain"] for e in web.expected_edges)
    assert all(e["src_domain"] == e["dst_domain"] for e in web.internal_edges)
    pairs = [(e["src"], e["dst"]) for e in web.expected_edges + web.internal_edges]
    assert len(pairs) == len(set(pairs))


def test_oracle_finds_the_same_edges(web):
    expected = {(e["src"], e["dst"]): e for e in web.expected_edges + web.internal_edges}
    found = oracle_edges(web)
    assert found.keys() == expected.keys()
    assert found == expected


def test_oracle_crawl_fetches_the_same_pages(web):
    pages, disallowed = oracle_crawl(web)
    assert pages == web.expected_pages
    assert disallowed == web.disallowed


def test_robots_txt_with_protego(web):
    parsers = {
        host: Protego.parse(web.resources[f"http://{host}/robots.txt"].body.decode())
        for host in web.hosts
        if f"http://{host}/robots.txt" in web.resources
    }
    for url in web.disallowed:
        assert not parsers[urlsplit(url).hostname].can_fetch(url, "backlinkbot")
    for url in [*web.expected_pages, *(e["src"] for e in web.expected_edges)]:
        parser = parsers.get(urlsplit(url).hostname)
        assert parser is None or parser.can_fetch(url, "backlinkbot")


def test_domains_follow_the_public_suffix_list(web):
    psl = PublicSuffixList()
    for host, domain in web.domains.items():
        assert psl.privatesuffix(host) == domain


def _edge(web, src, dst):
    (edge,) = [e for e in web.expected_edges if e["src"] == src and e["dst"] == dst]
    return {k: v for k, v in edge.items() if k not in ("src", "dst", "src_host", "dst_host")}


UK = "http://www.example.co.uk"
FLAGS_OFF = {"nofollow": False, "ugc": False, "sponsored": False}


@pytest.mark.parametrize(
    ("src", "dst", "attrs"),
    [
        # Merge: image then text then nofollow; first anchor, first alt, kind/section of the first.
        (
            f"{UK}/partners",
            "http://www.acme.com/pricing",
            {
                "anchor": "Acme pricing",
                "alt": "Acme logo",
                "image": False,
                "section": "header",
                **FLAGS_OFF,
            },
        ),
        (
            f"{UK}/partners",
            "http://www.freedata.org/",
            {"anchor": "Free Data", "nofollow": True, "ugc": False, "section": "main"},
        ),
        (
            f"{UK}/partners",
            "http://www.bergwerk.de/",
            {
                "anchor": "",
                "alt": "Bergwerk banner",
                "image": True,
                "sponsored": True,
                "nofollow": False,
                "section": "aside",
            },
        ),
        (
            f"{UK}/partners",
            "http://www.kangaroo.com.au/map",
            {"kind": "area", "anchor": "Map of Australia", "alt": "Kangaroo map", "image": False},
        ),
        (
            f"{UK}/partners",
            "http://www.tokyo-garden.co.jp/",
            {"anchor": "Tokyo Garden", "section": "body", **FLAGS_OFF},
        ),
        (f"{UK}/about", "http://www.acme.com/", {"nofollow": True}),
        (
            "http://blog.example.co.uk/x-robots",
            "http://www.kangaroo.com.au/",
            {"nofollow": True, "ugc": True},
        ),
        (
            "http://blog.example.co.uk/new-post",
            "http://www.acme.com/docs/guide",
            {"anchor": "the Acme guide"},
        ),
        (f"{UK}/directory", "http://xn--bcher-kva.de/", {"anchor": "B\u00fccher"}),
        (f"{UK}/directory", "https://docs.rivertech.io/login", {"anchor": "Rivertech login"}),
        (f"{UK}/directory", "http://www.gone-away.net/", {"dst_domain": "gone-away.net"}),
        (
            f"{UK}/out/acme",
            "http://go.tinylink.net/x/7",
            {"kind": "redirect", "anchor": "", "section": "body", **FLAGS_OFF},
        ),
        ("http://go.tinylink.net/x/7", "http://www.acme.com/pricing", {"kind": "redirect"}),
        ("http://www.freedata.org/go?to=bergwerk", "http://www.bergwerk.de/", {"kind": "redirect"}),
        (
            "http://www.bergwerk.de/produkte/hammer",
            "http://www.acme.com/products/rocket-skates",
            {"kind": "canonical", "section": "body"},
        ),
        (
            "http://www.bergwerk.de/weiterleitung",
            "http://www.kangaroo.com.au/",
            {"kind": "meta_refresh"},
        ),
        (
            "http://www.kangaroo.com.au/map",
            "http://www.tokyo-garden.co.jp/",
            {"kind": "area", "alt": "Japan", "nofollow": True, "section": "main"},
        ),
        (
            "http://www.kangaroo.com.au/forum/thread-42",
            "http://www.petitpain.fr/",
            {"ugc": True, "nofollow": True, "section": "aside"},
        ),
        ("http://www.petitpain.fr/liens", "http://www.acme.com/", {"anchor": "Acme", **FLAGS_OFF}),
        (
            "http://www.petitpain.fr/liens",
            "https://docs.rivertech.io/account",
            {"anchor": "Mon compte"},
        ),
        ("http://bob.github.io/sponsors", "http://alice.github.io/", {"sponsored": True}),
        (
            "http://www.tokyo-garden.co.jp/blog/spring",
            "http://www.freedata.org/",
            {"anchor": 'Fish & Chips \u2013 "fresh"'},
        ),
        (
            "http://www.tokyo-garden.co.jp/blog/spring",
            "http://www.bergwerk.de/",
            {"anchor": "Read more about tools"},
        ),
        (
            "http://alice.github.io/broken",
            "http://bob.github.io/",
            {"anchor": "Bob, for real", "dst_domain": "bob.github.io"},
        ),
    ],
)
def test_test_profile_features(test_web, src, dst, attrs):
    edge = _edge(test_web, src, dst)
    assert {k: edge[k] for k in attrs} == attrs


def test_test_profile_contents(test_web):
    web = test_web
    assert 12 <= len(web.hosts) <= 16
    assert 80 <= len(web.expected_pages) <= 150
    statuses = {p["status"] for p in web.expected_pages.values()}
    assert {200, 301, 302, 404, None} <= statuses
    assert web.expected_pages["http://www.freedata.org/reports/annual-2024.pdf"] == {
        "status": 200,
        "content_type": "application/pdf",
    }
    assert web.expected_pages["https://docs.rivertech.io/login"] == {
        "status": None,
        "content_type": "",
    }
    assert {
        "http://www.acme.com/private/roadmap",
        "http://www.kangaroo.com.au/admin/login",
        "http://www.freedata.org/members/list",
    } <= web.disallowed
    assert "http://www.acme.com/tmp/cache" in web.expected_pages  # the "*" group does not apply
    assert not any("hidden" in e["dst"] or "never-linked" in e["dst"] for e in web.expected_edges)
    long = _edge(
        web,
        "http://www.tokyo-garden.co.jp/blog/spring",
        "http://www.acme.com/products/rocket-skates",
    )
    assert len(long["anchor"]) == 256
    kinds = {e["kind"] for e in web.expected_edges}
    assert kinds == {"a", "area", "canonical", "meta_refresh", "redirect"}
    assert {e["section"] for e in web.expected_edges} == {
        "header",
        "nav",
        "main",
        "aside",
        "footer",
        "body",
    }
    internal = {(e["src_host"], e["dst_host"]) for e in web.internal_edges}
    assert ("blog.example.co.uk", "www.example.co.uk") in internal


def test_demo_profile():
    web = generate_web(profile="demo", seed=1)
    assert web.demo_target == "www.northwind-outdoor.com"
    assert 15 <= len(web.hosts) <= 25
    assert 200 <= len(web.expected_pages) <= 400
    backlinks = [e for e in web.expected_edges if e["dst_host"] == web.demo_target]
    assert len({e["src_domain"] for e in backlinks}) >= 10
    assert {e["kind"] for e in backlinks} == {"a", "redirect"}
    assert any(e["ugc"] for e in backlinks) and any(e["sponsored"] for e in backlinks)
    assert any(e["image"] for e in backlinks)


# -- spelling --------------------------------------------------------------


@pytest.mark.parametrize(
    ("dst", "base", "style", "href"),
    [
        ("http://a.com/x", "http://b.org/", "absolute", "http://a.com/x"),
        ("http://a.com/x", "http://b.org/", "protocol", "//a.com/x"),
        ("http://a.com/x", "http://a.com/y/z", "root", "/x"),
        ("http://a.com/x", "http://a.com/y/z", "relative", "../x"),
        ("http://a.com/", "http://a.com/y/z", "relative", "../"),
        ("http://a.com/y/", "http://a.com/y/z", "sibling", "./"),
        ("http://a.com/y/w", "http://a.com/y/z", "sibling", "w"),
        ("http://a.com/x", "http://b.org/", "dotseg", "http://a.com/x/../x"),
        ("http://a.com/x?a=1&b=2", "http://b.org/", "unsorted", "http://a.com/x?b=2&a=1"),
        (
            "http://a.com/x",
            "http://b.org/",
            "utm",
            "http://a.com/x?utm_source=newsletter&utm_campaign=spring",
        ),
        ("http://a.com/x?a=1", "http://b.org/", "gclid", "http://a.com/x?gclid=Xy7gc&a=1"),
        ("http://a.com/", "http://b.org/", "upper+port+dot+fragment", "HTTP://A.COM.:80/#top"),
        ("https://a.com/", "http://b.org/", "port", "https://a.com:443/"),
        ("http://xn--bcher-kva.de/", "http://b.org/", "idn", "http://b\u00fccher.de/"),
        ("http://a.com/", "http://b.org/", "space", "  \n\thttp://a.com/ \n"),
    ],
)
def test_spell(dst, base, style, href):
    spelled = spell(
        dst, base=base, style=style, unicode_hosts={"xn--bcher-kva.de": "b\u00fccher.de"}
    )
    assert spelled == href
    assert oracle_url(spelled, base) == dst


@pytest.mark.parametrize(
    ("dst", "base", "style", "message"),
    [
        ("http://a.com/", "http://b.org/", "root", "needs"),
        ("https://a.com/", "http://b.org/", "protocol", "scheme"),
        ("http://a.com/x", "http://a.com/y/z", "sibling", "directory"),
        ("http://a.com/", "http://b.org/", "unsorted", "two query"),
        ("http://a.com/", "http://b.org/", "idn", "Unicode"),
        ("http://a.com/", "http://b.org/", "bogus", "bogus"),
        ("http://a.com/", "http://b.org/", "root+protocol", "more than one"),
    ],
)
def test_spell_rejects(dst, base, style, message):
    with pytest.raises(ValueError, match=message):
        spell(dst, base=base, style=style)


# -- the server ------------------------------------------------------------


def _request(server, method, target, headers=None):
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=5)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_proxy_form_through_urllib(server, test_web):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": server.url}))
    with opener.open("http://www.acme.com/pricing", timeout=5) as response:
        assert response.status == 200
        assert response.read() == test_web.resources["http://www.acme.com/pricing"].body


@pytest.mark.parametrize(
    ("method", "target", "headers", "status", "ctype"),
    [
        ("GET", "http://www.acme.com/robots.txt", {}, 200, "text/plain"),
        ("GET", "/robots.txt", {"Host": "WWW.ACME.COM:80"}, 200, "text/plain"),
        ("GET", "/", {"Host": "www.example.co.uk"}, 200, "text/html"),
        ("GET", "http://www.acme.com/no-such-page", {}, 404, "text/html"),
        ("GET", "http://www.bergwerk.de/robots.txt", {}, 404, "text/html"),
        ("GET", "http://nowhere.invalid/", {}, 502, "text/plain"),
        ("GET", "https://docs.rivertech.io/login", {}, 502, "text/plain"),
        ("GET", "http://www.example.co.uk/out/acme", {}, 301, "text/html"),
        ("GET", "http://www.freedata.org/reports/annual-2024.pdf", {}, 200, "application/pdf"),
    ],
)
def test_answers(server, method, target, headers, status, ctype):
    got, got_headers, _ = _request(server, method, target, headers)
    assert (got, got_headers["Content-Type"].split(";")[0]) == (status, ctype)


def test_head_and_keep_alive(server, test_web):
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=5)
    try:
        body = test_web.resources["http://www.acme.com/"].body
        conn.request("HEAD", "http://www.acme.com/")
        response = conn.getresponse()
        assert response.read() == b""
        assert int(response.getheader("Content-Length")) == len(body)
        for _ in range(3):  # the same connection serves on
            conn.request("GET", "http://www.acme.com/")
            assert conn.getresponse().read() == body
    finally:
        conn.close()


def test_redirect_and_robots_headers(server):
    _, headers, _ = _request(server, "GET", "http://www.example.co.uk/out/acme")
    assert headers["Location"] == "HTTP://GO.TINYLINK.NET/x/7"
    _, headers, _ = _request(server, "GET", "http://blog.example.co.uk/x-robots")
    assert headers["X-Robots-Tag"] == "nofollow"


def test_dead_host_closes_the_connection(server):
    with pytest.raises(http.client.RemoteDisconnected):
        _request(server, "GET", "http://www.gone-away.net/")


def test_connect_is_refused(server):
    status, _, _ = _request(server, "CONNECT", "www.acme.com:443")
    assert status == 502


def test_concurrent_connections(server, test_web):
    urls = sorted(u for u in test_web.resources if "robots" not in u)[:40]

    def fetch(url):
        return _request(server, "GET", url)[2] == test_web.resources[url].body

    with ThreadPoolExecutor(max_workers=40) as pool:
        assert all(pool.map(fetch, urls))


def test_request_log(tmp_path, test_web):
    log = tmp_path / "requests.jsonl"
    with DemoWebServer(test_web, request_log=str(log)) as running:
        _request(running, "GET", "http://www.acme.com/pricing", {"User-Agent": "probe/1"})
        _request(running, "GET", "/nope", {"Host": "www.acme.com"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["host"], x["path"], x["status"], x["user_agent"]) for x in lines] == [
        ("www.acme.com", "/pricing", 200, "probe/1"),
        ("www.acme.com", "/nope", 404, ""),
    ]
    assert all(isinstance(x["time"], float) for x in lines)


def test_stopped_server_refuses(test_web):
    running = DemoWebServer(test_web).start()
    url = running.url
    running.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        running.url  # noqa: B018


# -- the command line ------------------------------------------------------


def test_truth_command(capsys, test_web):
    assert main(["truth", "--profile", "test", "--seed", "1"]) == 0
    truth = json.loads(capsys.readouterr().out)
    assert truth["expected_edges"] == test_web.expected_edges
    assert truth["expected_pages"] == test_web.expected_pages


def test_serve_command():
    proc = subprocess.Popen(
        [sys.executable, "-m", "backlinkbot.demoweb", "serve", "--profile", "test"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+\n", line)
        address = line.split("http://")[1].strip()
        conn = http.client.HTTPConnection(address, timeout=5)
        conn.request("GET", "http://www.acme.com/robots.txt")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
