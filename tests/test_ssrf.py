"""The SSRF guard: address policy, the middleware on normalized URLs, and
the resolver that filters the addresses a connection may use."""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler

from backlinkbot.downloadermiddlewares.ssrf import SSRFGuardMiddleware
from backlinkbot.safety.addresses import AddressPolicy, parse_ip
from backlinkbot.safety.resolver import (
    RefusedAddressError,
    SafeResolver,
    dns_overrides,
    proxy_endpoints,
)
from backlinkbot.urlnorm import normalize_url

CASES = [
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link_local"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link_local"),
    ("http://[fe80::1]/", "link_local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://100.64.0.1/", "not_global"),
    ("http://localhost/", "local_name"),
    ("http://LOCALHOST./", "local_name"),
    ("http://api.localhost:8080/", "local_name"),
    ("http://8.8.8.8/", None),
    ("http://[2606:4700::1111]/", None),
    ("http://example.com/", None),
    ("http://www.acme.com:8080/x", None),
]


def _resolver(
    allow: list[str] | None = None,
    overrides: list[str] | None = None,
    proxies: frozenset[tuple[str, int]] = frozenset(),
) -> SafeResolver:
    """A SafeResolver without a reactor (lookups are patched in the tests)."""
    resolver = SafeResolver.__new__(SafeResolver)
    resolver.policy = AddressPolicy(allow=allow or [])
    resolver.enabled = True
    resolver.overrides = dns_overrides(overrides or [])
    resolver.proxies = proxies
    resolver.refusals = {}
    return resolver


def _middleware(**settings: object) -> SSRFGuardMiddleware:
    return SSRFGuardMiddleware.from_crawler(get_crawler(settings_dict=settings))


def _ip_address_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_HOSTS = st.text(alphabet="0123456789abcdefx.:[]%-\u0663", max_size=24) | st.ip_addresses().map(str)


@given(_HOSTS)
def test_parse_ip_reads_what_ipaddress_reads(host: str) -> None:
    # parse_ip tells host names apart before calling ipaddress: never wrongly.
    assert parse_ip(host) == _ip_address_or_none(host)
    assert parse_ip(f"[{host}]") == _ip_address_or_none(host)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("example.com", None), ("1.2.3.4", "1.2.3.4"), ("[::1]", "::1"),
     ("fe80::1%eth0", "fe80::1"), ("1.2.3", None), ("\u0661.\u0662.\u0663.\u0664", None),
     ("", None), ("xn--80ak6aa92e.com", None)],
)  # fmt: skip
def test_parse_ip(host: str, expected: str | None) -> None:
    ip = parse_ip(host)
    assert (str(ip) if ip is not None else None) == expected


@pytest.mark.parametrize(("url", "reason"), CASES)
def test_guard_refuses_non_public_hosts_of_normalized_urls(url: str, reason: str | None) -> None:
    mw = _middleware(BACKLINKBOT_SSRF_GUARD=True)
    request = Request(normalize_url(url))
    if reason is None:
        assert mw.process_request(request) is None
        assert not mw.stats.get_stats()
        return
    with pytest.raises(IgnoreRequest):
        mw.process_request(request)
    assert mw.stats.get_value(f"backlinkbot/ssrf/refused/{reason}") == 1


@pytest.mark.parametrize(
    ("allow", "url", "refused"),
    [
        (["127.0.0.1/32"], "http://127.0.0.1:8080/", False),
        (["127.0.0.1/32"], "http://127.0.0.2/", True),
        (["10.0.0.0/8"], "http://10.20.30.40/", False),
        (["::1"], "http://[::1]/", False),
        (["localhost"], "http://localhost/", False),
        ([".intranet.test"], "http://wiki.intranet.test/", False),
        (["wiki.intranet.test"], "http://wiki.intranet.test.evil.com/", False),  # a public name
        ([], "http://[::ffff:127.0.0.1]/", True),
    ],
)
def test_allow_list(allow: list[str], url: str, refused: bool) -> None:
    mw = _middleware(BACKLINKBOT_SSRF_GUARD=True, BACKLINKBOT_SSRF_ALLOW=allow)
    if refused:
        with pytest.raises(IgnoreRequest):
            mw.process_request(Request(url))
    else:
        assert mw.process_request(Request(url)) is None


def test_guard_can_be_turned_off() -> None:
    with pytest.raises(NotConfigured):
        _middleware(BACKLINKBOT_SSRF_GUARD=False)


def test_behind_a_proxy_literal_addresses_are_still_refused() -> None:
    mw = _middleware(BACKLINKBOT_SSRF_GUARD=True)
    with pytest.raises(IgnoreRequest):
        mw.process_request(Request("http://10.0.0.1/", meta={"proxy": "http://8.8.8.8:3128"}))


def test_dns_refusal_is_counted() -> None:
    mw = _middleware(BACKLINKBOT_SSRF_GUARD=True)
    mw.process_exception(
        Request("http://rebind.example/"), RefusedAddressError("rebind.example", "private")
    )
    assert mw.stats.get_value("backlinkbot/ssrf/refused/dns_private") == 1


@pytest.mark.parametrize(
    ("answer", "allow", "refused"),
    [
        ("93.184.216.34", [], False),
        ("127.0.0.1", [], True),  # rebinding to loopback
        ("10.0.0.7", [], True),
        ("169.254.169.254", [], True),
        ("10.0.0.7", ["10.0.0.0/8"], False),
        ("not-an-address", [], True),
    ],
)
def test_resolver_refuses_the_address_the_connection_would_use(
    answer: str, allow: list[str], refused: bool
) -> None:
    resolver = _resolver(allow)
    if refused:
        with pytest.raises(RefusedAddressError):
            resolver._check(answer, "rebind.example")
    else:
        assert resolver._check(answer, "rebind.example") == answer


@pytest.mark.parametrize(
    ("environment", "endpoints"),
    [
        ({"http_proxy": "http://proxy.internal:3128", "no_proxy": "x"}, {("proxy.internal", 3128)}),
        ({"HTTPS_PROXY": "Proxy.Internal"}, {("proxy.internal", 80)}),
        ({"https_proxy": "https://[::1]"}, {("::1", 443)}),
        ({"http_proxy": "http://a:1", "https_proxy": "http://b:2"}, {("a", 1), ("b", 2)}),
        ({"http_proxy": "http://a:1", "HTTP_PROXY": "http://b:2"}, {("a", 1)}),
        ({"ftp_proxy": "http://a:1", "http_proxy": "http://b:99999"}, set()),
        ({}, set()),
    ],
)
def test_proxy_endpoints_are_read_from_the_environment(
    environment: dict[str, str], endpoints: set[tuple[str, int]]
) -> None:
    with mock.patch.dict(os.environ, environment, clear=True):
        assert proxy_endpoints() == endpoints


def _resolve(resolver: SafeResolver, name: str, port: int) -> list[Any]:
    """What ``resolveHostName`` hands a receiver: addresses, then "done"."""
    got: list[Any] = []

    class Receiver:
        def resolutionBegan(self, resolution: object) -> None:
            pass

        def addressResolved(self, address: Any) -> None:
            got.append((type(address).__name__, address.host, address.port))

        def resolutionComplete(self) -> None:
            got.append("done")

    resolver.resolveHostName(Receiver(), name, port)
    return got


PROXY = frozenset({("proxy.internal", 3128), ("127.0.0.1", 8080)})
RESOLVES = ["proxy.internal=10.0.0.5", "evil.example=10.0.0.5", "v6.example=::1"]


@pytest.mark.parametrize(
    ("name", "port", "allowed"),
    [
        ("proxy.internal", 3128, True),  # the configured proxy
        ("PROXY.internal.", 3128, True),
        ("proxy.internal", 443, False),  # its name, another port
        ("evil.example", 3128, False),  # its address and port, another name
        ("127.0.0.1", 8080, True),  # a proxy given as an address
        ("127.0.0.1", 6379, False),
        ("[::1]", 8080, False),
        ("v6.example", 80, False),
        ("proxy.internal", 0, False),  # a lookup without a port is never exempt
    ],
)
def test_only_the_proxy_host_and_port_are_exempt(name: str, port: int, allowed: bool) -> None:
    resolver = _resolver(overrides=RESOLVES, proxies=PROXY)
    got = _resolve(resolver, name, port)
    if allowed:
        assert len(got) == 2 and got[0][2] == port and got[1] == "done", got
        assert resolver.refusal(name, port) is None
    else:
        assert got == ["done"]  # no address: nothing is connected to
        assert resolver.refusal(name, port) in {"private", "loopback"}


def test_refusals_are_remembered_per_host_and_port_until_an_answer_is_allowed() -> None:
    resolver = _resolver(overrides=["a.example=10.0.0.1"])
    _resolve(resolver, "a.example", 443)
    assert resolver.refusal("A.example", 443) == "private"
    assert resolver.refusal("a.example", 80) is None
    resolver.overrides["a.example"] = "93.184.216.34"  # the name moved
    assert _resolve(resolver, "a.example", 443) == [("IPv4Address", "93.184.216.34", 443), "done"]
    assert resolver.refusal("a.example", 443) is None
    resolver.overrides["a.example"] = "::ffff:10.0.0.1"
    assert _resolve(resolver, "a.example", 443) == ["done"]
    assert resolver.refusal("a.example", 443) == "private"


def test_allowed_addresses_keep_their_family() -> None:
    resolver = _resolver(allow=["::1", "10.0.0.0/8"], overrides=RESOLVES)
    assert _resolve(resolver, "v6.example", 80) == [("IPv6Address", "::1", 80), "done"]
    assert _resolve(resolver, "evil.example", 81) == [("IPv4Address", "10.0.0.5", 81), "done"]


@pytest.mark.parametrize(
    ("name", "answers", "allow", "outcome"),
    [
        ("public.example", ["93.184.216.34"], [], "93.184.216.34"),
        # DNS rebinding: the second answer is the one the connection would use
        ("rebind.example", ["93.184.216.34", "127.0.0.1"], [], "RefusedAddressError"),
        ("meta.example", ["169.254.169.254"], [], "RefusedAddressError"),
        ("wiki.corp.example", ["10.1.1.1"], [".corp.example"], "10.1.1.1"),
        ("127.0.0.1", ["127.0.0.1"], [], "RefusedAddressError"),  # an address is checked too
        ("127.0.0.1", ["127.0.0.1"], ["127.0.0.1"], "127.0.0.1"),
    ],
)
def test_resolver_checks_every_answer(
    name: str, answers: list[str], allow: list[str], outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer

    pending = list(answers)

    def lookup(self: object, host: str, timeout: object = ()) -> defer.Deferred[str]:
        return defer.succeed(pending.pop(0))

    monkeypatch.setattr(CachingThreadedResolver, "getHostByName", lookup)
    resolver = _resolver(allow)
    results: list[str] = []
    for _ in answers:
        d = resolver.getHostByName(name)
        d.addCallbacks(results.append, lambda f: results.append(f.type.__name__))
    assert results[-1] == outcome


def test_dns_overrides_are_read_as_name_equals_address() -> None:
    assert dns_overrides(["WWW.Example.com.=10.1.2.3", " b.test = ::1 "]) == {
        "www.example.com": "10.1.2.3", "b.test": "::1",
    }  # fmt: skip
    assert dns_overrides([]) == {}
    for bad in ["www.example.com", "=10.1.2.3", "a.test=not-an-address", "a.test:10.1.2.3"]:
        with pytest.raises(ValueError, match="BACKLINKBOT_DNS_OVERRIDES.*" + bad[:3]):
            dns_overrides([bad])


@pytest.mark.parametrize(
    ("name", "allow", "outcome"),
    [
        ("staging.example", ["10.1.2.3"], "10.1.2.3"),
        ("STAGING.example.", ["10.1.2.3"], "10.1.2.3"),
        # An overridden answer is checked like any other.
        ("staging.example", [], "RefusedAddressError"),
        # Names without an override are looked up.
        ("other.example", [], "93.184.216.34"),
    ],
)
def test_resolver_answers_overridden_names_itself(
    name: str, allow: list[str], outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer

    looked_up: list[str] = []

    def lookup(self: object, host: str, timeout: object = ()) -> defer.Deferred[str]:
        looked_up.append(host)
        return defer.succeed("93.184.216.34")

    monkeypatch.setattr(CachingThreadedResolver, "getHostByName", lookup)
    resolver = _resolver(allow, ["staging.example=10.1.2.3"])
    results: list[str] = []
    resolver.getHostByName(name).addCallbacks(
        results.append, lambda f: results.append(f.type.__name__)
    )
    assert results == [outcome]
    assert looked_up == ([] if "staging" in name.lower() else [name])
