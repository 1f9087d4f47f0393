"""Benchmark of link extraction, against Scrapy's LinkExtractor, and a memory soak.

One core, one process, deterministic for a given seed:

``python bench/bench_extract.py [--pages 500] [--seed N] [--warc PATH ...]``
    On the generated corpus (bench/corpus.py) plus real pages (the wget
    capture in tests/data/pages/ and any ``--warc`` file, such as
    ``sample_archive/warcs/iana.warc.gz`` from the pywb sdist), times:

    (a) ours: ``HtmlResponse`` → ``response.text`` → :func:`extract_links`,
        then :func:`~backlinkbot.urlnorm.normalize_url` on every href
        against the page's base URL;
    (b) Scrapy: ``HtmlResponse`` → ``LinkExtractor().extract_links``, then
        w3lib's ``canonicalize_url`` on every link;

    and a few variants (extraction alone, the cached normalizer). Each is
    timed over the whole corpus (the few real pages ``--repeat-real`` times),
    in CPU time of the process, best of ``--rounds``, and reported in pages/s
    and links/s with the ratio of (b)'s time to (a)'s.

    It then checks that both find the same links on every page: the set of
    ``a``/``area`` targets, each normalized by ``normalize_url`` so that only
    extraction differences remain, and explains the systematic ones.

``python bench/bench_extract.py --memory 100000``
    Runs (a) over 100,000 pages (the corpus, cycled) in one process and prints
    the resident set size as it goes: it must not grow.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import lxml.html  # noqa: E402
from corpus import SEED, Page, generate, read_warc  # noqa: E402
from scrapy.http import HtmlResponse  # noqa: E402
from scrapy.linkextractors import LinkExtractor  # noqa: E402
from scrapy.utils.response import get_base_url  # noqa: E402
from w3lib.url import canonicalize_url  # noqa: E402

from backlinkbot import urlnorm  # noqa: E402
from backlinkbot.linkextraction import extract_links  # noqa: E402
from backlinkbot.urlnorm import InvalidURL, normalize_url, normalize_url_cached  # noqa: E402

__all__ = ["main"]

WGET_WARC = ROOT / "tests" / "data" / "pages" / "IAH-urls-wget.warc"


def _response(page: Page) -> HtmlResponse:
    return HtmlResponse(
        page.url,
        body=page.body,
        headers={"Content-Type": f"text/html; charset={page.encoding}"},
    )


# -- the pipelines ------------------------------------------------------------


def ours(pages: list[Page]) -> int:
    found = 0
    for page in pages:
        response = _response(page)
        extracted = extract_links(response.text, response.url)
        base = extracted.base_url
        for link in extracted.links:
            try:
                normalize_url(link.href, base)
            except InvalidURL:
                continue
            found += 1
    return found


def ours_cached(pages: list[Page]) -> int:
    found = 0
    for page in pages:
        response = _response(page)
        extracted = extract_links(response.text, response.url)
        base = extracted.base_url
        for link in extracted.links:
            try:
                normalize_url_cached(link.href, base)
            except InvalidURL:
                continue
            found += 1
    return found


def ours_extract_only(pages: list[Page]) -> int:
    found = 0
    for page in pages:
        response = _response(page)
        found += len(extract_links(response.text, response.url).links)
    return found


def scrapy_linkextractor(pages: list[Page]) -> int:
    found = 0
    extractor = LinkExtractor()
    for page in pages:
        for link in extractor.extract_links(_response(page)):
            canonicalize_url(link.url)
            found += 1
    return found


def scrapy_extract_only(pages: list[Page]) -> int:
    found = 0
    extractor = LinkExtractor()
    for page in pages:
        found += len(extractor.extract_links(_response(page)))
    return found


PIPELINES: list[tuple[str, Callable[[list[Page]], int]]] = [
    ("(a) ours: extract_links + normalize_url", ours),
    ("    ours: extract_links + normalize_url_cached", ours_cached),
    ("    ours: extract_links alone", ours_extract_only),
    ("(b) Scrapy: LinkExtractor + canonicalize_url", scrapy_linkextractor),
    ("    Scrapy: LinkExtractor alone", scrapy_extract_only),
]


def _clear_caches() -> None:
    """Empty the normalizer's LRU caches, so that every round starts cold."""
    for name in dir(urlnorm):
        clear = getattr(getattr(urlnorm, name), "cache_clear", None)
        if clear is not None:
            clear()


def bench(pages: list[Page], rounds: int) -> dict[str, tuple[float, int]]:
    best: dict[str, tuple[float, int]] = {}
    for _ in range(rounds):
        for label, pipeline in PIPELINES:
            _clear_caches()
            gc.collect()
            # CPU time of this process: the work done, whatever else the
            # machine is running.
            start = time.process_time()
            found = pipeline(pages)
            elapsed = time.process_time() - start
            if label not in best or elapsed < best[label][0]:
                best[label] = (elapsed, found)
    return best


# -- agreement ----------------------------------------------------------------


def _normalized(hrefs: list[str], base: str | None) -> set[str]:
    out = set()
    for href in hrefs:
        with contextlib.suppress(InvalidURL):
            out.add(normalize_url(href, base))
    return out


def _template_links(response: HtmlResponse) -> set[str]:
    """Links inside <template>, which lxml (and so LinkExtractor) keeps."""
    tree = lxml.html.fromstring(response.body, base_url=response.url)
    hrefs = [str(h) for h in tree.xpath("//template//a/@href | //template//area/@href")]
    return _normalized(hrefs, get_base_url(response))


def agreement(pages: list[Page]) -> None:
    every = LinkExtractor(deny_extensions=[], unique=True)
    default = LinkExtractor()
    same = 0
    explained: Counter[str] = Counter()
    mismatches: list[tuple[str, set[str], set[str]]] = []
    denied = 0
    for page in pages:
        response = _response(page)
        extracted = extract_links(response.text, response.url)
        a = _normalized(
            [link.href for link in extracted.links if link.kind in ("a", "area")],
            extracted.base_url,
        )
        b_links = every.extract_links(response)
        b = _normalized([link.url for link in b_links], None)
        denied += len(b_links) - len(default.extract_links(response))
        if a == b:
            same += 1
            continue
        template = _template_links(response) - a
        if template and a == b - template:
            explained["links inside <template> (LinkExtractor keeps them)"] += len(template)
            same += 1
            continue
        mismatches.append((page.url, a - b, b - a))
    print(f"\nagreement on a/area links: {same}/{len(pages)} pages identical")
    for reason, count in explained.items():
        print(f"  explained: {count} {reason}")
    print(
        f"  LinkExtractor's default deny_extensions drops {denied} links "
        "(compared with deny_extensions=[])"
    )
    for url, only_ours, only_theirs in mismatches[:10]:
        print(f"  MISMATCH {url}\n    only ours: {sorted(only_ours)[:5]}")
        print(f"    only LinkExtractor: {sorted(only_theirs)[:5]}")


# -- memory -------------------------------------------------------------------


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        # Peak, not current, where /proc is missing.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(pages: list[Page], total: int) -> None:
    marks = {1_000, 10_000, total // 2, total}
    start = time.perf_counter()
    links = 0
    print(f"{'pages':>9} {'links':>12} {'RSS MiB':>9} {'s':>8}")
    print(f"{0:>9} {0:>12} {rss_mib():>9.1f} {0.0:>8.1f}")
    for done in range(1, total + 1):
        links += ours([pages[(done - 1) % len(pages)]])
        if done in marks:
            print(f"{done:>9} {links:>12} {rss_mib():>9.1f} {time.perf_counter() - start:>8.1f}")


# -- main -----------------------------------------------------------------------


def load(count: int, seed: int, warcs: list[str]) -> tuple[list[Page], list[Page]]:
    generated = generate(count, seed=seed)
    real = read_warc(WGET_WARC)
    for path in warcs:
        real += read_warc(path)
    return generated, real


def report(title: str, pages: list[Page], rounds: int) -> None:
    size = sum(len(page.body) for page in pages)
    print(f"\n{title}: {len(pages)} pages, {size / 2**20:.1f} MiB")
    results = bench(pages, rounds)
    ours_time = results[PIPELINES[0][0]][0]
    print(f"{'pipeline':48} {'links':>8} {'CPU s':>7} {'pages/s':>9} {'links/s':>10} {'vs (b)':>7}")
    scrapy_time = results[PIPELINES[3][0]][0]
    for label, (elapsed, found) in results.items():
        print(
            f"{label:48} {found:>8} {elapsed:>7.3f} {len(pages) / elapsed:>9.0f} "
            f"{found / elapsed:>10.0f} {scrapy_time / elapsed:>6.1f}x"
        )
    print(f"speed-up of (a) over (b): {scrapy_time / ours_time:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat-real", type=int, default=10, metavar="N")
    parser.add_argument("--warc", action="append", default=[], help="more real pages")
    parser.add_argument("--memory", type=int, default=0, metavar="PAGES")
    args = parser.parse_args(argv)
    generated, real = load(args.pages, args.seed, args.warc)
    print(f"python {sys.version.split()[0]}, one process")
    if args.memory:
        memory(generated + real, args.memory)
        return
    counts = sorted(
        len(extract_links(p.body.decode(p.encoding, "replace"), p.url).links) for p in generated
    )
    sizes = sorted(len(p.body) for p in generated)
    print(
        f"generated pages: {sizes[0] / 1024:.0f}-{sizes[-1] / 1024:.0f} KiB "
        f"(median {sizes[len(sizes) // 2] / 1024:.0f}), {counts[0]}-{counts[-1]} links "
        f"(median {counts[len(counts) // 2]})"
    )
    report("generated corpus", generated, args.rounds)
    if real:
        # Few pages: repeat them so that each timing is long enough to trust.
        report(f"real pages (x{args.repeat_real})", real * args.repeat_real, args.rounds)
    agreement(generated + real)


if __name__ == "__main__":
    main()
