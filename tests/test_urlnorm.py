"""URL normalization: one case table per step (docs/URL_NORMALIZATION.md), and properties."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlinkbot.urlnorm import (
    MAX_URL_LENGTH,
    REASONS,
    InvalidURL,
    normalize_url,
    normalize_url_cached,
    resolve_url,
    url_host,
)
from backlinkbot.urlnorm import _normalize_or_reason as cached_normalization

URLCANON = Path(__file__).parent / "data" / "url" / "urlcanon"

Case = tuple[str, "str | None", str]


def _cases(*rows: Case) -> list[Any]:
    return [pytest.param(url, base, expected, id=repr(url)[:60]) for url, base, expected in rows]


# Step 1: strip surrounding whitespace, resolve per the URL Standard.
STEP1 = _cases(
    ("  http://example.com/a  ", None, "http://example.com/a"),
    ("\t\n http://example.com/a\x00 \x0c", None, "http://example.com/a"),
    ("http://exa\tmple.com/p\na\rth", None, "http://example.com/path"),
    ("b/c", "http://example.com/a/x", "http://example.com/a/b/c"),
    ("../c", "http://example.com/a/b/", "http://example.com/a/c"),
    ("../../../../c", "http://example.com/a/b/", "http://example.com/c"),
    ("/root", "https://example.com/a/b", "https://example.com/root"),
    ("//other.org/p", "https://example.com/", "https://other.org/p"),
    ("?q=1", "http://example.com/p?x=2", "http://example.com/p?q=1"),
    ("#top", "http://example.com/p?x=1", "http://example.com/p?x=1"),
    ("", "http://example.com/p?x=1#f", "http://example.com/p?x=1"),
    ("http:b", "http://example.com/a/x", "http://example.com/a/b"),
    ("https:b", "http://example.com/a/x", "https://b/"),
    ("\\\\evil.example\\x", "http://good.example/", "http://evil.example/x"),
    ("http://example.com\\a\\b", None, "http://example.com/a/b"),
    ("HTTP://example.com", "https://base.example/", "http://example.com/"),
    # U+00A0 is not whitespace to the URL Standard: it is part of the path.
    ("\u00a0x", "http://example.com/", "http://example.com/%C2%A0x"),
)

# Step 2: http and https only.
STEP2_REJECTED = [
    "mailto:someone@example.com",
    "javascript:void(0)",
    "JavaScript:alert(1)",
    "tel:+15551234",
    "data:text/html,<a>",
    "ftp://example.com/file",
    "ws://example.com/",
    "wss://example.com/",
    "file:///etc/passwd",
    "about:blank",
    "urn:isbn:0451450523",
    "git+ssh://example.com/repo",
]

# Step 3: scheme and host lowercase, IDN to punycode, no trailing dot, no
# default port, no userinfo.
STEP3 = _cases(
    ("HTTP://EXAMPLE.COM/Path", None, "http://example.com/Path"),
    ("HtTpS://Example.Com/", None, "https://example.com/"),
    ("http://Bücher.DE/", None, "http://xn--bcher-kva.de/"),
    ("http://faß.de/", None, "http://xn--fa-hia.de/"),
    # Full-width letters and full stop, mapped by UTS #46.
    ("http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\uff0ecom/", None, "http://example.com/"),
    ("http://例え.テスト/", None, "http://xn--r8jz45g.xn--zckzah/"),
    ("http://xn--bcher-kva.de/", None, "http://xn--bcher-kva.de/"),
    ("http://example.com./", None, "http://example.com/"),
    ("http://example.com../", None, "http://example.com/"),
    ("http://example.com:80/", None, "http://example.com/"),
    ("http://example.com:0080/", None, "http://example.com/"),
    ("https://example.com:443/", None, "https://example.com/"),
    ("http://example.com:443/", None, "http://example.com:443/"),
    ("https://example.com:80/", None, "https://example.com:80/"),
    ("http://example.com:8080/", None, "http://example.com:8080/"),
    ("http://example.com:/", None, "http://example.com/"),
    ("http://user:pass@example.com/", None, "http://example.com/"),
    ("http://user@example.com:8080/", None, "http://example.com:8080/"),
    ("http://@example.com/", None, "http://example.com/"),
    ("http://a%40b:c@example.com/", None, "http://example.com/"),
    ("http://[2001:DB8:0:0:0:0:0:1]:8080/", None, "http://[2001:db8::1]:8080/"),
    ("http://[::FFFF:192.0.2.1]/", None, "http://[::ffff:c000:201]/"),
    ("http://0x7F.1/", None, "http://127.0.0.1/"),
    ("http://2130706433/", None, "http://127.0.0.1/"),
    ("http://192.168.0.1./", None, "http://192.168.0.1/"),
    # Without its trailing dots, "0x7f.1.." is an IPv4 address.
    ("http://0x7f.1../", None, "http://127.0.0.1/"),
)
STEP3_REJECTED = ["http://./", "http://.../x", "http://foo.09../", "http://exa mple.com/"]

# Step 4: no fragment.
STEP4 = _cases(
    ("http://example.com/p#frag", None, "http://example.com/p"),
    ("http://example.com/p?q=1#frag?x=2", None, "http://example.com/p?q=1"),
    ("http://example.com/#", None, "http://example.com/"),
    ("http://example.com/p#a#b", None, "http://example.com/p"),
)

# Step 5: path and query as w3lib.url.canonicalize_url gives them.
STEP5 = _cases(
    ("http://example.com", None, "http://example.com/"),
    ("http://example.com?q=1", None, "http://example.com/?q=1"),
    ("http://example.com/a/./b/../c", None, "http://example.com/a/c"),
    ("http://example.com/a/%2e%2E/c", None, "http://example.com/c"),
    ("http://example.com/a//b/", None, "http://example.com/a//b/"),
    ("http://example.com/%7euser/%41%42", None, "http://example.com/~user/AB"),
    ("http://example.com/caf%c3%a9", None, "http://example.com/caf%C3%A9"),
    ("http://example.com/café", None, "http://example.com/caf%C3%A9"),
    ("http://example.com/r%E9sum%E9", None, "http://example.com/r%E9sum%E9"),
    ("http://example.com/a%2fb%3Bc%3fd%25e", None, "http://example.com/a%2Fb%3Bc%3Fd%25e"),
    ("http://example.com/a%21b%5Bc%5D", None, "http://example.com/a!b[c]"),
    ('http://example.com/a b"c<d>', None, "http://example.com/a%20b%22c%3Cd%3E"),
    ("http://example.com/50%", None, "http://example.com/50%"),
    ("http://example.com/a^b|c{d}", None, "http://example.com/a%5Eb|c%7Bd%7D"),
    ("http://example.com/p;jsessionid=1", None, "http://example.com/p;jsessionid=1"),
    # w3lib reads ";" in the last segment as RFC 2396 parameters and resolves
    # dot segments before it; the URL Standard does not.
    ("http://example.com/a/..;p", None, "http://example.com/;p"),
    ("http://example.com/?b=2&a=1&b=1", None, "http://example.com/?a=1&b=1&b=2"),
    ("http://example.com/?b=1&a0=1&a=1", None, "http://example.com/?a=1&a0=1&b=1"),
    ("http://example.com/?q=a%20b&r=a+b", None, "http://example.com/?q=a+b&r=a+b"),
    ("http://example.com/?q=%2B%2b", None, "http://example.com/?q=%2B%2B"),
    ("http://example.com/?q=caf%c3%a9&r=café", None, "http://example.com/?q=caf%C3%A9&r=caf%C3%A9"),
    (
        "http://example.com/?url=http://a.b/c?d",
        None,
        "http://example.com/?url=http%3A%2F%2Fa.b%2Fc%3Fd",
    ),
    ("http://example.com/?a", None, "http://example.com/?a="),
    ("http://example.com/?a=", None, "http://example.com/?a="),
    ("http://example.com/?a=b=c", None, "http://example.com/?a=b%3Dc"),
    ("http://example.com/?=x", None, "http://example.com/?=x"),
    ("http://example.com/?", None, "http://example.com/"),
    ("http://example.com/?&&", None, "http://example.com/"),
    ("http://example.com/?a=1&&b=2&", None, "http://example.com/?a=1&b=2"),
    ("http://example.com/?a=%zz", None, "http://example.com/?a=%25zz"),
    ("http://example.com/?a=1;b=2", None, "http://example.com/?a=1%3Bb%3D2"),
    ("http://example.com/?%C3%A9=1&z=1&%41=1", None, "http://example.com/?A=1&z=1&%C3%A9=1"),
)

# Step 6: no tracking parameters.
STEP6 = _cases(
    ("http://example.com/?utm_source=x&utm_medium=y&id=1", None, "http://example.com/?id=1"),
    ("http://example.com/?gclid=1&fbclid=2&msclkid=3", None, "http://example.com/"),
    ("http://example.com/p?utm_campaign=spring#x", None, "http://example.com/p"),
    ("http://example.com/?utm_=1&utm_x", None, "http://example.com/"),
    ("http://example.com/?utm%5Fsource=1&%67clid=2", None, "http://example.com/"),
    ("http://example.com/?gclid", None, "http://example.com/"),
    # Names are matched exactly: these are not tracking parameters.
    ("http://example.com/?utm=1", None, "http://example.com/?utm=1"),
    ("http://example.com/?UTM_SOURCE=1", None, "http://example.com/?UTM_SOURCE=1"),
    ("http://example.com/?xutm_source=1", None, "http://example.com/?xutm_source=1"),
    ("http://example.com/?gclid_x=1", None, "http://example.com/?gclid_x=1"),
    ("http://example.com/?ref=utm_source", None, "http://example.com/?ref=utm_source"),
)

_ORIGIN = "http://example.com/"  # 19 characters


def _long(path_length: int) -> str:
    return _ORIGIN + "a" * path_length


# Step 7: longer than 2,048 characters after normalization.
STEP7 = _cases(
    (_long(MAX_URL_LENGTH - len(_ORIGIN)), None, _long(MAX_URL_LENGTH - len(_ORIGIN))),
    # Longer before normalization, not after.
    (_ORIGIN + "?utm_source=" + "x" * 3000, None, _ORIGIN),
    (_ORIGIN + "#" + "x" * 3000, None, _ORIGIN),
    ("  " * 2000 + _ORIGIN, None, _ORIGIN),
)
STEP7_REJECTED = [
    _long(MAX_URL_LENGTH - len(_ORIGIN) + 1),
    # Shorter before normalization, not after: each "é" becomes "%C3%A9".
    _ORIGIN + "é" * 400,
]


@pytest.mark.parametrize(("url", "base", "expected"), STEP1 + STEP3 + STEP4 + STEP5 + STEP6 + STEP7)
def test_normalize(url: str, base: str | None, expected: str) -> None:
    assert normalize_url(url, base) == expected
    assert normalize_url(expected) == expected


@pytest.mark.parametrize("url", STEP2_REJECTED)
def test_other_schemes_rejected(url: str) -> None:
    with pytest.raises(InvalidURL) as excinfo:
        normalize_url(url)
    assert excinfo.value.reason == "scheme"
    assert excinfo.value.url == url


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("relative/path", None),
        ("/absolute-path", None),
        ("", None),
        ("   ", None),
        ("http://", None),
        ("http://exa mple.com/", None),
        ("http://[::1/", None),
        ("http://example.com:65536/", None),
        ("http://example.com:8o/", None),
        ("http://1.2.3.256/", None),
        ("x", "not a base"),
        ("x", "mailto:a@b.c"),
        *((url, None) for url in STEP3_REJECTED),
    ],
)
def test_unparsable_rejected(url: str, base: str | None) -> None:
    with pytest.raises(InvalidURL) as excinfo:
        normalize_url(url, base)
    assert excinfo.value.reason == "unparsable"


@pytest.mark.parametrize("url", STEP7_REJECTED, ids=["one-too-many", "grows"])
def test_too_long_rejected(url: str) -> None:
    with pytest.raises(InvalidURL) as excinfo:
        normalize_url(url)
    assert excinfo.value.reason == "too_long"


def test_lone_surrogates_become_replacement_characters() -> None:
    # As a browser's USVString conversion does; a surrogate pair is joined.
    assert normalize_url("http://example.com/\ud800") == "http://example.com/%EF%BF%BD"
    assert normalize_url("http://example.com/\ud83d\ude00") == "http://example.com/%F0%9F%98%80"
    assert resolve_url("x\udfff", "http://example.com/") == "http://example.com/x%EF%BF%BD"


def test_invalid_url_names_what_it_got() -> None:
    with pytest.raises(InvalidURL, match=r"^scheme: 'mailto:a@b\.c'$"):
        normalize_url("mailto:a@b.c")
    long_url = "mailto:" + "a" * 1000
    with pytest.raises(InvalidURL) as excinfo:
        normalize_url(long_url)
    assert len(str(excinfo.value)) < 250
    assert excinfo.value.url == long_url


def test_invalid_url_pickles() -> None:
    error = InvalidURL("too_long", "http://x/")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.url, str(copy)) == (error.reason, error.url, str(error))


def test_invalid_url_reason_is_checked() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        InvalidURL("nope", "http://x/")


def test_resolve_url_keeps_everything_else() -> None:
    # Step 1 alone: other schemes, userinfo, default-less ports, fragments.
    assert resolve_url("mailto:A@B.c") == "mailto:A@B.c"
    assert (
        resolve_url(" http://U:P@EXAMPLE.com.:81/a/../b?q#f ") == "http://U:P@example.com.:81/b?q#f"
    )
    with pytest.raises(InvalidURL):
        resolve_url("relative")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://example.com/", "example.com"),
        ("https://example.com:8443/a:b/c", "example.com"),
        ("http://[2001:db8::1]/", "[2001:db8::1]"),
        ("http://[::1]:8080/x", "[::1]"),
        ("http://127.0.0.1:80/", "127.0.0.1"),
        ("http://xn--bcher-kva.de/?a=b:c", "xn--bcher-kva.de"),
        ("http://example.com", "example.com"),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert url_host(url) == host


def test_url_host_names_what_it_got() -> None:
    with pytest.raises(ValueError, match=r"'example\.com/x'"):
        url_host("example.com/x")


def test_cached_variant() -> None:
    url = "HTTP://Example.com/a/../b?utm_source=x#y"
    assert normalize_url_cached(url) == normalize_url(url) == "http://example.com/b"
    assert normalize_url_cached(url) == "http://example.com/b"
    assert normalize_url_cached("b", "http://example.com/a") == "http://example.com/b"


@pytest.mark.parametrize(("url", "reason"), [("mailto:x@y.z", "scheme"), ("::", "unparsable")])
def test_cached_variant_raises_every_time(url: str, reason: str) -> None:
    errors = []
    for _ in range(3):
        with pytest.raises(InvalidURL) as excinfo:
            normalize_url_cached(url)
        errors.append(excinfo.value)
    assert [e.reason for e in errors] == [reason] * 3
    assert [e.url for e in errors] == [url] * 3
    # A new exception each time, not one whose traceback grows.
    assert len({id(e) for e in errors}) == 3


# -- properties ---------------------------------------------------------------

# fmt: off
_PIECES = st.sampled_from(
    [
        "%", "%2", "%zz", "%2e", "%2E", "%2f", "%25", "%3b", "%3F", "%41", "%7e", "%C3%A9",
        "%c3", "%00", "%FF", "%20", "+", "&", "=", ";", ":", "@", "!", "$", "'", "(", "*", "[",
        "]", "|", "\\", "^", "`", "{", '"', "<", " ", "\t", "\n", "\x00", "\x7f", "\xa0", "é",
        "例", "\U0001f600", "\ufeff", "\ud800", "ß", "ﬀ", "\uff0e", "/", "//", ".", "..", "?",
        "#", "a", "Z", "0", "utm_source", "gclid", "xn--", "-",
    ]
)
# fmt: on
_TEXT = st.lists(_PIECES | st.text(max_size=3), max_size=8).map("".join)
# fmt: off
_HOSTS = st.sampled_from(
    [
        "example.com", "EXAMPLE.com.", "Bücher.de", "xn--bcher-kva.de", "a..b", "0x7f.1..",
        "[::1]", "[2001:DB8::1]", "[::ffff:1.2.3.4]", "1.2.3", "256.1.1.1", "localhost",
        "ex%41mple.com", "例え.jp", "\u00ad", "", ".", "a" * 64, "_dmarc.example.com",
    ]
)
# fmt: on
_URLS = st.builds(
    "{}{}{}{}{}{}".format,
    st.sampled_from(["http://", "https://", "HTTP:", "http:\\\\", "//", "", "mailto:", "ftp://"]),
    st.sampled_from(["", "", "user:pw@", "@", "a@b@"]),
    _HOSTS,
    st.sampled_from(["", "", ":80", ":443", ":8080", ":", ":99999"]),
    _TEXT.map(lambda text: "/" + text),
    st.sampled_from(["", "?", "#", "?utm_source=1&b=2&a=1"]) | _TEXT.map(lambda text: "?" + text),
)
_BASES = st.sampled_from(
    [None, "http://example.com/a/b?c#d", "https://u:p@[::1]:8443/x/", "about:blank", "nope"]
)


def _check(url: str, base: str | None) -> None:
    try:
        result = normalize_url(url, base)
    except InvalidURL as exc:
        assert exc.reason in REASONS
        return
    assert result.isascii()
    assert result.startswith(("http://", "https://"))
    assert "#" not in result
    assert len(result) <= MAX_URL_LENGTH
    host = url_host(result)
    assert host == host.lower()
    assert not host.endswith(".")
    assert "@" not in result.partition("//")[2].partition("/")[0]
    # Idempotence.
    assert normalize_url(result) == result
    assert normalize_url_cached(url, base) == result


@settings(max_examples=200, derandomize=True)
@given(st.text(), _BASES)
def test_any_text_gives_url_or_invalid_url(url: str, base: str | None) -> None:
    _check(url, base)


@settings(max_examples=300, derandomize=True)
@given(_URLS, _BASES)
def test_url_shaped_text_gives_url_or_invalid_url(url: str, base: str | None) -> None:
    _check(url, base)


# -- urlcanon test data: robustness, and comparison where the rules agree -----


def _fix(text: str) -> str:
    # urlcanon works on bytes and its JSON holds them as Latin-1 code points
    # ("â\x98\x83" for "☃"); read them as the UTF-8 they were.
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _urlcanon(name: str) -> Any:
    return json.loads((URLCANON / name).read_text("utf-8"))


def _urlcanon_inputs() -> list[str]:
    inputs: list[str] = []
    for name in (
        "aggressive.json",
        "funky_ipv4.json",
        "parsing.json",
        "semantic_precise.json",
        "supplemental_whatwg.json",
    ):
        for key, value in _urlcanon(name).items():
            inputs += [key, _fix(key)] + ([value, _fix(value)] if isinstance(value, str) else [])
    for group in _urlcanon("surt.json").values():
        for key, value in group.items():
            inputs += [key, value or ""]
    for group in _urlcanon("path_dots.json").values():
        inputs += [f"http://example.com{path}" for path in group]
    inputs += _urlcanon("idempotence.json")
    return sorted(set(inputs))


URLCANON_INPUTS = _urlcanon_inputs()


def test_urlcanon_robustness() -> None:
    assert len(URLCANON_INPUTS) > 1100
    for url in URLCANON_INPUTS:
        _check(url, None)
        _check(url, "http://example.com/a/b")


_FUNKY_IPV4_DEVIATIONS = {
    # The URL Standard reads a label as a number only if it is all digits or
    # starts with "0x"; "0000xa" is a domain label. urlcanon rejects it.
    "0000xa": "urlcanon follows an older IPv4 parser; '0000xa' is a domain to the URL Standard",
}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param(
            key,
            value,
            marks=[pytest.mark.xfail(strict=True, reason=_FUNKY_IPV4_DEVIATIONS[key])]
            if key in _FUNKY_IPV4_DEVIATIONS
            else [],
        )
        for key, value in _urlcanon("funky_ipv4.json").items()
    ],
)
def test_urlcanon_funky_ipv4(host: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidURL):
            normalize_url(f"http://{host}/")
    else:
        assert url_host(normalize_url(f"http://{host}/")) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    # Backslashes excluded: urlcanon's table keeps them, the URL Standard
    # reads "\" as "/" in special URLs (and so does step 1).
    [(k, v) for k, v in _urlcanon("path_dots.json")["special"].items() if "\\" not in k],
)
def test_urlcanon_path_dots(path: str, expected: str) -> None:
    assert normalize_url(f"http://example.com{path}") == f"http://example.com{expected}"


def _semantic_cases() -> list[Any]:
    # urlcanon's "semantic precise" and WHATWG-supplement forms name the same
    # page as their input, so both must normalize alike -- where the rules
    # agree: an absolute http(s) input, without percent-escapes (urlcanon
    # decodes them repeatedly, w3lib once) and without backslashes, whose
    # urlcanon form is a URL to the URL Standard (urlcanon keeps hosts such as
    # "%20leadingspace.com" and "09" that the Standard rejects).
    deviations = {
        (
            "semantic_precise.json",
            "http://example.com////../..",
        ): "the URL Standard keeps empty segments, urlcanon drops them",
        (
            "semantic_precise.json",
            "http://host.com//twoslashes?more//slashes",
        ): "urlcanon collapses repeated slashes",
    }
    cases = []
    for name in ("semantic_precise.json", "supplemental_whatwg.json"):
        for key, value in _urlcanon(name).items():
            url, expected = _fix(key), _fix(value)
            if not expected.startswith(("http:", "https:")):
                continue
            if not url.lower().startswith(("http://", "https://")) or "%" in url or "\\" in url:
                continue
            try:
                resolve_url(expected)
            except InvalidURL:
                continue
            reason = deviations.get((name, url))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(url, expected, marks=marks, id=f"{name[:8]}-{url[:50]!r}"))
    return cases


@pytest.mark.parametrize(("url", "expected"), _semantic_cases())
def test_urlcanon_same_page(url: str, expected: str) -> None:
    assert normalize_url(url) == normalize_url(expected)


@pytest.mark.parametrize("value", [b"http://example.com/", None, 42])
def test_type_error_names_what_it_got(value: object) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        normalize_url(value)  # type: ignore[arg-type]


_HREFS = [
    "http://a.example/x", "HTTPS://A.example:443/x?utm_source=y", "http://", "https://[::1]:8/",
    "/", "/p", "/p?q=1#f", "/%7Ex/../y", "/ x", "/\\evil.example/x", "//evil.example/x",
    "/\t/evil.example", "/p\n", "\t/p", " /p", "p", "../p", "?q", "#f", "",
    "http:p", "mailto:x@y", "/" + "a" * 2100,
]  # fmt: skip
_BASES = [
    "http://b.example/dir/page?x#y", "https://b.example:8443/", "HTTP://B.EXAMPLE/",
    "http://user:pw@b.example/x", "http://b.example?q", "http://b.example#f",
    "http://b.example\\x", "http://b.ex\tample/x", " http://b.example/", "http:b.example",
    "http://exa mple.com/", "http://b.example:99999/", "ftp://b.example/", "not a url",
    "http://[::1]/", "http://bücher.example/",
]  # fmt: skip


@pytest.mark.parametrize("base", _BASES)
def test_cache_keyed_by_what_the_base_gives_changes_no_result(base: str) -> None:
    # The cache keys an absolute or root-relative href by part of the base
    # only; every href/base pair must still come out as uncached.
    for href in _HREFS:
        try:
            expected: str | tuple[str, str] = normalize_url(href, base)
        except InvalidURL as exc:
            expected = ("rejected", exc.reason)
        try:
            got: str | tuple[str, str] = normalize_url_cached(href, base)
        except InvalidURL as exc:
            got = ("rejected", exc.reason)
        assert got == expected, (href, base)


def test_one_cache_entry_for_a_link_repeated_across_a_site() -> None:
    before = cached_normalization.cache_info()
    for page in range(50):
        base = f"http://site.example/articles/{page}?session=1"
        assert normalize_url_cached("/about", base) == "http://site.example/about"
        assert normalize_url_cached("http://other.example/", base) == "http://other.example/"
    after = cached_normalization.cache_info()
    assert after.misses - before.misses <= 2


# -- the page encoding ------------------------------------------------------------

ENCODED = [
    # (href, encoding, normalized): the query from the page's encoding, host
    # (IDNA) and path from UTF-8, the fragment dropped.
    ("http://ex.com/p?q=café", "windows-1252", "http://ex.com/p?q=caf%E9"),
    ("http://ex.com/p?q=café", "cp1252", "http://ex.com/p?q=caf%E9"),
    ("http://ex.com/p?q=café", "latin1", "http://ex.com/p?q=caf%E9"),
    ("http://ex.com/p?q=café", "UTF-8", "http://ex.com/p?q=caf%C3%A9"),
    ("http://ex.com/p?q=café", "utf-16le", "http://ex.com/p?q=caf%C3%A9"),
    ("http://ex.com/p?q=café", "x-no-such-encoding", "http://ex.com/p?q=caf%C3%A9"),
    ("http://ex.com/p?q=café", None, "http://ex.com/p?q=caf%C3%A9"),
    ("http://ex.com/p?q=日本", "shift_jis", "http://ex.com/p?q=%93%FA%96%7B"),
    ("http://ex.com/p?q=日本", "euc-jp", "http://ex.com/p?q=%C6%FC%CB%DC"),
    ("http://ex.com/p?q=日本", "iso-2022-jp", "http://ex.com/p?q=%1B%24BF%7CK%5C%1B%28B"),
    ("http://ex.com/p?q=☃&r=é", "windows-1252", "http://ex.com/p?q=%26%239731%3B&r=%E9"),
    ("http://ex.com/p?q=a☃b", "shift_jis", "http://ex.com/p?q=a%26%239731%3Bb"),
    ("http://ex.com/café/?q=café#café", "windows-1252", "http://ex.com/caf%C3%A9/?q=caf%E9"),
    ("http://bücher.ex/?q=ü", "windows-1252", "http://xn--bcher-kva.ex/?q=%FC"),
    ("http://ex.com/#?q=é", "windows-1252", "http://ex.com/"),
    ("http://ex.com/p?q=%E9", "shift_jis", "http://ex.com/p?q=%E9"),
    ("http://ex.com/p?q=\ud800", "windows-1252", "http://ex.com/p?q=%26%2365533%3B"),
    ("?q=é", "windows-1252", "http://ex.com/dir/page?q=%E9"),
]


@pytest.mark.parametrize(("href", "encoding", "expected"), ENCODED)
def test_query_in_page_encoding(href: str, encoding: str | None, expected: str) -> None:
    base = "http://ex.com/dir/page"
    assert normalize_url(href, base, encoding=encoding) == expected
    assert normalize_url_cached(href, base, encoding=encoding) == expected
    # The result is ASCII, so a second pass is the same whatever the encoding.
    assert normalize_url(expected, encoding=encoding) == expected


def test_cache_is_keyed_by_encoding() -> None:
    href, base = "/p?q=é", "http://ex.com/"
    assert normalize_url_cached(href, base) == "http://ex.com/p?q=%C3%A9"
    assert normalize_url_cached(href, base, encoding="windows-1252") == "http://ex.com/p?q=%E9"
    assert normalize_url_cached(href, base, encoding="koi8-r") == "http://ex.com/p?q=%26%23233%3B"
    assert normalize_url_cached(href, base) == "http://ex.com/p?q=%C3%A9"


def test_ascii_hrefs_share_one_entry_whatever_the_encoding() -> None:
    before = cached_normalization.cache_info()
    for encoding in (None, "windows-1252", "shift_jis", "utf-8"):
        assert normalize_url_cached("/ascii?q=1", "http://one.example/", encoding=encoding) == (
            "http://one.example/ascii?q=1"
        )
    assert cached_normalization.cache_info().misses - before.misses == 1


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        # Only special schemes but ws and wss take the page encoding.
        ("ftp://ex.com/?é", "ftp://ex.com/?%E9"),
        ("file:///x?é", "file:///x?%E9"),
        ("ws://ex.com/?é", "ws://ex.com/?%C3%A9"),
        ("mailto:a@ex.com?subject=é", "mailto:a@ex.com?subject=%C3%A9"),
        ("foo:bar?é", "foo:bar?%C3%A9"),
        ("?é", "http://ex.com/?%E9"),
    ],
)
def test_resolve_url_encodes_special_queries_only(href: str, expected: str) -> None:
    assert resolve_url(href, "http://ex.com/", encoding="windows-1252") == expected


@given(st.text(), st.sampled_from(["windows-1252", "shift_jis", "iso-2022-jp", "koi8-r", "gbk"]))
def test_any_text_in_any_encoding(text: str, encoding: str) -> None:
    try:
        normalized = normalize_url(text, "http://ex.com/dir/", encoding=encoding)
    except InvalidURL:
        return
    assert normalized.isascii()
    assert normalize_url(normalized) == normalized
