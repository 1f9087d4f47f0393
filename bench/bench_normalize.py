"""Benchmark and differential check of URL normalization.

Two modes, one core each, deterministic for a given seed:

``python bench/bench_normalize.py [--count 100000] [--seed 1]``
    Normalizes the same list of distinct, realistic (href, base) pairs with
    :func:`backlinkbot.urlnorm.normalize_url` (uncached) and with the plain
    reference composition (bench/reference_normalize.py), prints both rates
    and their ratio, and checks that the outputs are identical.

``python bench/bench_normalize.py --differential 1000000 [--seed 1]``
    Compares the two on generated hostile URLs (odd percent-encodings, IDN,
    IPv4 and IPv6 literals, control characters, very long URLs...): same
    output, or the same rejection. Prints the count and the mismatches.

The generators are also used by tests/test_urlnorm_differential.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference_normalize import reference_normalize

from backlinkbot.urlnorm import normalize_url

__all__ = ["compare", "hostile_urls", "main", "realistic_urls"]

Pair = tuple[str, "str | None"]

# -- realistic URLs -----------------------------------------------------------


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SYLLABLES = _split(
    "ka ri to mo na se lu vi da ne po ra mi so te ba co de fi ga ho ja ke la "
    "ma no pe qu re si tu va we xi yo ze an el in on un ar er or ur"
)
_WORDS = _split(
    "news blog article post category tag product shop cart search about "
    "contact help docs api v1 v2 user profile images static assets css js "
    "archive 2023 2024 2025 page index home world sport tech science travel "
    "recipes reviews guide how-to best top-10 faq login register download"
)
_SUFFIXES = (
    ("com",) * 20
    + ("org",) * 5
    + ("net",) * 4
    + _split("de fr co.uk io jp com.au nl it es ru pl ca info biz edu gov.uk")
    + _split("github.io blogspot.com herokuapp.com co.jp ac.uk com.br")
)
_SUBDOMAINS = ("",) * 6 + ("www.",) * 8 + _split("blog. m. shop. news. en. cdn. api. docs.")
_IDN = ("bücher", "münchen", "例え", "пример", "café", "straße", "ελληνικά")
_PARAMS = _split(
    "id page q sort lang ref p s cat filter limit offset session tab "
    "utm_source utm_medium utm_campaign gclid fbclid msclkid"
)
_EXTENSIONS = ("", "", "", ".html", ".php", ".aspx", "/", ".pdf", ".jpg")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _host(rng: random.Random) -> str:
    if rng.random() < 0.03:
        name = rng.choice(_IDN) + _name(rng)
    else:
        name = _name(rng)
        if rng.random() < 0.2:
            name += "-" + _name(rng)
    host = rng.choice(_SUBDOMAINS) + name + "." + rng.choice(_SUFFIXES)
    return host.upper() if rng.random() < 0.02 else host


def _value(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))
    if roll < 0.7:
        return rng.choice(_WORDS)
    if roll < 0.8:
        return "+".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 4)))
    if roll < 0.9:
        return "https%3A%2F%2F" + _host(rng) + "%2F" + rng.choice(_WORDS)
    if roll < 0.95:
        return "caf%C3%A9%20" + rng.choice(_WORDS)
    return ""


def _path(rng: random.Random) -> str:
    segments = [rng.choice(_WORDS) for _ in range(rng.randint(0, 5))]
    if segments and rng.random() < 0.3:
        segments[-1] += "-" + str(rng.randint(1, 99999))
    if segments and rng.random() < 0.05:
        segments[-1] = "r%C3%A9sum%C3%A9"
    if segments and rng.random() < 0.02:
        segments.insert(rng.randrange(len(segments)), "..")
    path = "/" + "/".join(segments)
    if segments:
        path += rng.choice(_EXTENSIONS)
    return path


def _query(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return ""
    names = rng.sample(_PARAMS, rng.randint(1, 4))
    return "?" + "&".join(f"{n}={_value(rng)}" for n in names)


def _absolute(rng: random.Random) -> str:
    scheme = "https" if rng.random() < 0.7 else "http"
    port = ":8080" if rng.random() < 0.02 else (":443" if rng.random() < 0.01 else "")
    fragment = "#" + rng.choice(_WORDS) if rng.random() < 0.1 else ""
    return f"{scheme}://{_host(rng)}{port}{_path(rng)}{_query(rng)}{fragment}"


def realistic_urls(count: int, *, seed: int = 1) -> list[Pair]:
    """*count* distinct (href, base) pairs as links on real pages look:
    about a third relative to their page, the rest absolute."""
    rng = random.Random(seed)
    seen: set[Pair] = set()
    pairs: list[Pair] = []
    while len(pairs) < count:
        base = _absolute(rng)
        roll = rng.random()
        if roll < 0.15:
            pair: Pair = (_path(rng) + _query(rng), base)
        elif roll < 0.25:
            pair = (rng.choice(_WORDS) + rng.choice(_EXTENSIONS) + _query(rng), base)
        elif roll < 0.3:
            pair = ("../" + rng.choice(_WORDS) + _query(rng), base)
        elif roll < 0.33:
            pair = (rng.choice(("#top", "?page=2", "mailto:a@b.org", "javascript:void(0)")), base)
        else:
            pair = (_absolute(rng), None if rng.random() < 0.5 else base)
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    return pairs


# -- hostile URLs -------------------------------------------------------------

# fmt: off
_ODD = (
    "%", "%%", "%2", "%zz", "%2e", "%2E", "%2e%2e", ".%2e", "%2f", "%2F", "%25", "%252F",
    "%3b", "%3B", "%3f", "%3F", "%41", "%7e", "%7E", "%20", "%00", "%FF", "%c3%a9",
    "%C3", "%E2%82%AC", "+", "&", "=", ";", ",", ":", "@", "!", "$", "'", "(", ")",
    "*", "[", "]", "|", "\\", "^", "`", "{", "}", '"', "<", ">", " ", "\t", "\n",
    "\r", "\x00", "\x01", "\x1f", "\x7f", "\x80", "\xa0", "é", "€", "例", "\U0001f600",
    "\ufeff", "\u00ad", "\u200b", "ß", "\u01c5", "\ufb00", "\uff21", "\uff0e", "\u3002",
    "/", "//", ".", "..", "./", "../", "/./", "/../", "?", "#", "~", "-", "_", "utm_",
    "a", "Z", "0",
)
_HOST_ODD = (
    "a", "B", "xn--", "xn--zca", "xn--a", "ß", "é", "例え",
    "\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25", "\uff0e", "\u3002",
    "-", "_", "0", "0x7f", "1", "255", "256", "4294967295", "%41", "%2e", "!", "$",
    "'", "(", "*", "+", ",", ";", "=", "~", "\u00ad", "\u200b", "\ufeff", " ", "\t",
    "%", "\x00", "[", "]", "::", ":", "@", "\\", ".", "..", "", "x" * 63, "y" * 64,
)
_IPV6 = (
    "[::1]", "[::]", "[0:0:0:0:0:0:0:1]", "[2001:DB8::1]", "[2001:db8:0:0:1:0:0:1]",
    "[::ffff:192.0.2.1]", "[1:2:3:4:5:6:7:8]", "[1::8]", "[fe80::1%25eth0]",
    "[::ffff:1.2.3]", "[0::0:1:0:0]", "[1:0:0:2::3]", "[:]", "[v1.x]",
)
_IPV4 = (
    "127.0.0.1", "0x7F.1", "0177.0.0.1", "2130706433", "1.2.3", "1.2.3.4.", "1.256.0.0",
    "0x100000000", "1..2.3", "09.1.1.1",
)
_SCHEMES = (
    "http://", "https://", "HTTP://", "hTtPs://", "http:", "https:/", "http:\\\\",
    "https:\\/", "ftp://", "javascript:", "mailto:", "data:", "ws://", "file://",
    "foo://", "//", "", " http://", "\thttps://", "http ://",
)
_BASES = (
    None, "http://example.com/a/b?q#f", "https://user:pw@Example.ORG:8443/x/y/",
    "http://[::1]/", "https://xn--bcher-kva.de/a;p?q", "mailto:x@y", "about:blank",
    "http://a/b/c/d;p?q", "not a url", "https://h.example/%2e/",
)
# fmt: on


def _pieces(rng: random.Random, table: tuple[str, ...], most: int) -> str:
    return "".join(rng.choice(table) for _ in range(rng.randint(0, most)))


def _hostile_host(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(_IPV6)
    if roll < 0.25:
        return rng.choice(_IPV4)
    if roll < 0.55:
        return _host(rng) + ("." * rng.randint(0, 2))
    labels = [_pieces(rng, _HOST_ODD, 4) or "a" for _ in range(rng.randint(1, 4))]
    return ".".join(labels)


def _hostile(rng: random.Random) -> str:
    userinfo = rng.choice(("", "", "", "user@", "u:p@", ":@", "a%40b:c@", "@"))
    port = rng.choice(("", "", "", ":80", ":443", ":8080", ":", ":0", ":00080", ":65536", ":x"))
    path = _pieces(rng, _ODD, 12)
    if path and not path.startswith(("/", "?", "#")) and rng.random() < 0.8:
        path = "/" + path
    query = (
        "?"
        + "&".join(
            _pieces(rng, _ODD, 4) + "=" + _pieces(rng, _ODD, 4) for _ in range(rng.randint(0, 4))
        )
        if rng.random() < 0.5
        else ""
    )
    fragment = "#" + _pieces(rng, _ODD, 3) if rng.random() < 0.2 else ""
    url = f"{rng.choice(_SCHEMES)}{userinfo}{_hostile_host(rng)}{port}{path}{query}{fragment}"
    roll = rng.random()
    if roll < 0.02:
        url += "/" + "a" * rng.randint(1900, 2100)
    elif roll < 0.03:
        url += "?" + "é" * rng.randint(200, 300)
    elif roll < 0.05:
        url = " \t\n" + url + "\x00 \x0c"
    return url


def hostile_urls(count: int, *, seed: int = 1) -> Iterator[Pair]:
    """*count* generated (href, base) pairs, many of them malformed."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        base = rng.choice(_BASES)
        if roll < 0.7:
            yield _hostile(rng), base
        elif roll < 0.9:
            yield _pieces(rng, _ODD, 10) + rng.choice(("", "?a=b", "#x")), base or _BASES[1]
        else:
            yield rng.choice(_SCHEMES) + _pieces(rng, _ODD, 6), base


# -- comparing ----------------------------------------------------------------


def _outcome(function: Callable[[str, str | None], str], url: str, base: str | None) -> str:
    try:
        return function(url, base)
    except ValueError as exc:  # InvalidURL, or the reference's own rejection
        return f"<rejected: {getattr(exc, 'reason', exc)}>"


def _settled(url: str) -> str:
    """The reference applied again until its result stops changing."""
    previous, current = None, url
    while current != previous and not current.startswith("<"):
        previous, current = current, _outcome(reference_normalize, current, None)
    return current


def compare(
    pairs: Iterator[Pair] | list[Pair],
) -> tuple[int, int, list[tuple[str, str | None, str, str]]]:
    """(count, cases where the reference is not idempotent, mismatches).

    canonicalize_url is not idempotent on a path where a "%" that starts no
    escape ends up before two hex digits ("%%36%31" gives "%61", then "a").
    normalize_url goes on to the fixed point (docs/URL_NORMALIZATION.md);
    there it must equal the reference applied until it stops changing.
    """
    count = unsettled = 0
    mismatches: list[tuple[str, str | None, str, str]] = []
    for url, base in pairs:
        count += 1
        ours = _outcome(normalize_url, url, base)
        theirs = _outcome(reference_normalize, url, base)
        if ours == theirs:
            continue
        if not theirs.startswith("<"):
            settled = _settled(theirs)
            if settled != theirs:
                unsettled += 1
                if ours == settled:
                    continue
        mismatches.append((url, base, ours, theirs))
    return count, unsettled, mismatches


# -- benchmark ----------------------------------------------------------------


def _rate(function: Callable[[str, str | None], str], pairs: list[Pair]) -> tuple[float, list[str]]:
    out: list[str] = []
    append = out.append
    start = time.perf_counter()
    for url, base in pairs:
        try:
            append(function(url, base))
        except ValueError as exc:  # InvalidURL, or the reference's own rejection
            append(getattr(exc, "reason", "?"))
    elapsed = time.perf_counter() - start
    return len(pairs) / elapsed, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="distinct URLs to normalize")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--differential", type=int, metavar="N", help="compare on N hostile URLs")
    args = parser.parse_args(argv)

    if args.differential:
        start = time.perf_counter()
        count, unsettled, mismatches = compare(hostile_urls(args.differential, seed=args.seed))
        print(f"differential: {count} URLs, seed {args.seed}, {time.perf_counter() - start:.0f} s")
        print(f"reference not idempotent (compared at its fixed point): {unsettled}")
        print(f"mismatches: {len(mismatches)}")
        for url, base, ours, theirs in mismatches[:20]:
            print(f"  {url!r} base={base!r}\n    ours:      {ours!r}\n    reference: {theirs!r}")
        return 1 if mismatches else 0

    pairs = realistic_urls(args.count, seed=args.seed)
    ours_rate = theirs_rate = 0.0
    for _ in range(args.repeat):
        rate, ours = _rate(normalize_url, pairs)
        ours_rate = max(ours_rate, rate)
        rate, theirs = _rate(reference_normalize, pairs)
        theirs_rate = max(theirs_rate, rate)
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    print(
        f"URLs: {len(pairs)} distinct (href, base) pairs, seed {args.seed}, best of {args.repeat}"
    )
    print(f"backlinkbot.urlnorm.normalize_url: {ours_rate:,.0f} URLs/s")
    print(f"reference composition:             {theirs_rate:,.0f} URLs/s")
    print(f"ratio: {ours_rate / theirs_rate:.2f}x")
    print(f"identical output: {same}/{len(pairs)}")
    return 0 if same == len(pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
