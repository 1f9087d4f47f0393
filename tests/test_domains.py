"""Registrable domains: the official PSL test file, and our reading of "none"."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinkbot.domains import registrable_domain, registrable_domain_or_none
from backlinkbot.urlnorm import InvalidURL, normalize_url, url_host


def _psl_cases() -> list[object]:
    # test_psl.txt ships in the publicsuffixlist wheel next to the list it
    # tests; read it there so both come from the same snapshot.
    text = resources.files("publicsuffixlist").joinpath("test_psl.txt").read_text("utf-8")
    cases: list[object] = []
    for line in text.splitlines():
        match = re.fullmatch(r"(//)?checkPublicSuffix\((.+), (.+)\);", line.strip())
        if not match:
            continue
        arg, expected = (None if x == "null" else x.strip("'") for x in match.groups()[1:])
        if match[1] and expected is None and arg and "." in arg:
            # Commented out upstream ("Listed, but non-Internet, TLD"): the
            # list no longer has "local", so the default rule applies.
            reason = "commented out in test_psl.txt: 'local' is not in the list"
            cases.append(
                pytest.param(arg, expected, marks=pytest.mark.xfail(strict=True, reason=reason))
            )
        else:
            cases.append(pytest.param(arg, expected))
    return cases


PSL_CASES = _psl_cases()


def _host(text: str) -> str:
    """A test_psl.txt domain as a host of a normalized URL (lowercase, punycode)."""
    return url_host(normalize_url(f"http://{text}/"))


def test_psl_file_has_all_cases() -> None:
    assert len(PSL_CASES) == 82


@pytest.mark.parametrize(("domain", "expected"), PSL_CASES)
def test_psl(domain: str | None, expected: str | None) -> None:
    # The file's domains are as a user writes them (mixed case, Unicode); ours
    # are normalized hosts, so both sides go through normalize_url first. Its
    # null input is the empty host. null means "no registrable domain":
    # registrable_domain_or_none gives None and registrable_domain the host.
    if domain is None:
        host = ""
    else:
        try:
            host = _host(domain)
        except InvalidURL:
            pytest.fail(f"{domain!r} should be a valid host")
    if expected is None:
        assert registrable_domain_or_none(host) is None
        assert registrable_domain(host) == host
    else:
        assert registrable_domain_or_none(host) == _host(expected)
        assert registrable_domain(host) == _host(expected)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        # The private section counts.
        ("alice.github.io", "alice.github.io"),
        ("www.alice.github.io", "alice.github.io"),
        ("github.io", "github.io"),
        ("foo.blogspot.com", "foo.blogspot.com"),
        # ICANN section.
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("co.uk", "co.uk"),
        ("a.b.example.com", "example.com"),
        # Unknown TLD: the default rule "*".
        ("a.b.example.invalidtld", "example.invalidtld"),
        # IP addresses are their own domain, not "3.4".
        ("1.2.3.4", "1.2.3.4"),
        ("192.168.0.1", "192.168.0.1"),
        ("[::1]", "[::1]"),
        ("[2001:db8::1]", "[2001:db8::1]"),
        # Single label.
        ("localhost", "localhost"),
        # Punycode IDN under an IDN public suffix.
        ("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"),
        # Not a domain name: empty labels.
        (".example.com", ".example.com"),
        ("a..example.com", "a..example.com"),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


@pytest.mark.parametrize("host", ["1.2.3.4", "[::1]", "localhost", "com", "github.io", ""])
def test_no_registrable_domain(host: str) -> None:
    assert registrable_domain_or_none(host) is None


def test_type_error_names_what_it_got() -> None:
    with pytest.raises(TypeError, match="bytes"):
        registrable_domain_or_none(b"example.com")  # type: ignore[arg-type]


def test_cached() -> None:
    registrable_domain.cache_clear()
    registrable_domain("www.example.com")
    registrable_domain("www.example.com")
    assert registrable_domain.cache_info().hits == 1


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(st.lists(_LABEL, min_size=1, max_size=5))
def test_domain_is_a_suffix_of_the_host(labels: list[str]) -> None:
    host = ".".join(labels)
    domain = registrable_domain(host)
    assert host == domain or host.endswith("." + domain)
    # The domain of the domain is itself.
    assert registrable_domain(domain) == domain
