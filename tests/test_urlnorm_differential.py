"""normalize_url against the plain reference composition, on generated URLs.

bench/reference_normalize.py writes steps 3-7 of docs/URL_NORMALIZATION.md
in the obvious way (w3lib's canonicalize_url, then host, port and tracking
steps); ours has a fast path. Both sides get the same URL already resolved per the URL Standard
(step 1, which w3lib does not do), and must give the same output or the same
rejection. The URLs come from bench/bench_normalize.py: realistic ones and
hostile ones (odd percent-encodings, IDN, IP literals, control characters,
very long URLs). ``python bench/bench_normalize.py --differential 1000000``
runs the same comparison on a million URLs.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from hypothesis import given, settings
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from backlinkbot.urlnorm import (
    InvalidURL,
    _canonical_path,
    _canonical_query,
    normalize_url,
    resolve_url,
)

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


reference = _load("reference_normalize")
bench = _load("bench_normalize")


def _outcome(function: Callable[[str], str], url: str) -> str:
    try:
        return function(url)
    except InvalidURL as exc:
        return f"<{exc.reason}>"


def _reference_settled(href: str) -> str:
    """The reference applied until it stops changing (see below)."""
    previous, current = None, _outcome(reference.reference_canonical, href)
    while current != previous and not current.startswith("<"):
        previous, current = current, _outcome(reference.reference_canonical, current)
    return current


def _compare(pairs: Iterable[tuple[str, str | None]]) -> tuple[Counter[str], list[tuple[str, ...]]]:
    """Count outcomes, and list the mismatches with what led to them."""
    seen: Counter[str] = Counter()
    mismatches: list[tuple[str, ...]] = []
    for url, base in pairs:
        direct = _outcome(lambda u: normalize_url(u, base), url)  # noqa: B023
        try:
            href = resolve_url(url, base)
        except InvalidURL:
            seen["unparsable by the URL Standard"] += 1
            if direct != "<unparsable>":
                mismatches.append(("resolve", url, str(base), direct))
            continue
        ours = _outcome(normalize_url, href)
        theirs = _outcome(reference.reference_canonical, href)
        seen[ours if ours.startswith("<") else "normalized"] += 1
        if direct != ours:
            # Step 1 composes with steps 2-7: normalizing the input or its
            # resolved href must be the same.
            mismatches.append(("composition", url, str(base), direct, ours))
        elif ours != theirs:
            # canonicalize_url is not idempotent on a path where a "%" that
            # starts no escape ends up before two hex digits ("%%36%31" gives
            # "%61", then "a"). Ours goes on to the fixed point; there it must
            # be what repeating the reference gives, and nothing else may
            # differ.
            settled = _reference_settled(href)
            if theirs == settled or ours != settled:
                mismatches.append(("reference", url, str(base), href, ours, theirs))
            seen["reference not idempotent"] += 1
    return seen, mismatches


def test_hostile_urls() -> None:
    seen, mismatches = _compare(bench.hostile_urls(20_000, seed=1))
    assert mismatches == []
    # The sample reaches every outcome, so the comparison means something.
    assert seen["normalized"] > 5_000
    assert seen["unparsable by the URL Standard"] > 1_000
    assert seen["<scheme>"] > 1_000
    assert seen["<too_long>"] > 20
    assert seen["<unparsable>"] > 0


def test_realistic_urls() -> None:
    seen, mismatches = _compare(bench.realistic_urls(5_000, seed=2))
    assert mismatches == []
    assert seen["normalized"] > 4_500


# -- the fast path on its own -------------------------------------------------

# fmt: off
_PIECES = st.sampled_from(
    [
        "%", "%2", "%zz", "%2e", "%2E", "%2f", "%2F", "%25", "%3b", "%3B", "%3f", "%3F", "%41",
        "%61", "%7e", "%7E", "%C3%A9", "%c3", "%00", "%20", "%23", "%26", "%2B", "%3D", "%5B",
        "%7C", "%FF", "+", "&", "=", ";", ":", "@", "!", "$", "'", "(", "*", ",", "[", "]", "|",
        "\\", "^", "`", "{", '"', "<", " ", "\x00", "é", "例", "/", ".", "..", "?", "#", "a",
        "B", "0", "-", "_", "~",
    ]
)
# fmt: on
_RAW = st.lists(_PIECES, max_size=12).map("".join)


@settings(max_examples=300, derandomize=True)
@given(_RAW, _RAW)
def test_fast_path_recognises_only_canonical_forms(path: str, query: str) -> None:
    # The fast path's claim: a parsed path it accepts is left unchanged by
    # canonicalize_url, and the query fields it returns are those of
    # canonicalize_url's query, in the same order.
    try:
        href = resolve_url(f"http://h/{path}?{query}")
    except InvalidURL:
        return
    parsed_path, _, parsed_query = href[len("http://h") :].partition("#")[0].partition("?")
    expected_path, _, expected_query = canonicalize_url(href)[len("http://h") :].partition("?")
    if _canonical_path(parsed_path):
        assert expected_path == parsed_path
    fields = _canonical_query(parsed_query)
    if fields is not None:
        assert fields == (expected_query.split("&") if expected_query else [])
