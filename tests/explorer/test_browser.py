"""The web report in headless Chromium (Debian's package, driven by
Playwright's Python package; no browser download): the overview shows the
API's numbers and draws its charts, tabs switch, backlinks page through,
tables export to CSV, link intersect runs, and text from crawled pages never
runs as script. One browser for all of them.

With ``BACKLINKBOT_SCREENSHOTS=1`` the tests also save the screenshots shown
in the README (docs/explorer-*.png).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from .conftest import EVIL, SCRIPT, Explorer
from .test_api import all_rows, top_domain

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium (a fresh profile) for the browser tests. Module-scoped:
    Playwright's sync API keeps an event loop running on the main thread
    while it is started, which other tests' ``asyncio.run`` refuse."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is not installed ({CHROMIUM}; apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM, headless=True, args=ARGS, accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs
    try:
        yield tab
    finally:
        tab.close()


def report(explorer: Explorer, **params: Any) -> str:
    return f"{explorer.url}/report?{urlencode(params)}"


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    if os.environ.get("BACKLINKBOT_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / f"explorer-{name}.png"), full_page=full_page)


def number(text: str) -> float | None:
    text = text.strip().replace(",", "")
    return None if text in ("", "\N{EN DASH}") else float(text)


def test_overview_shows_the_api_numbers_and_charts(explorer: Explorer, page: Any) -> None:
    domain = top_domain(explorer)
    page.goto(report(explorer, target=domain))
    api = explorer.get("/api/v1/overview", target=domain)
    fields = page.locator("[data-field]")
    assert fields.count() >= 12
    for i in range(fields.count()):
        field = fields.nth(i)
        name = field.get_attribute("data-field")
        want = api[name]
        shown = number(field.inner_text())
        assert shown == (None if want is None else round(float(want), 1)), name
    days = len(explorer.get("/api/v1/history", target=domain)["rows"])
    for series in ("backlinks", "referring_domains"):
        points = page.locator(f'figure[data-series="{series}"] svg circle.point')
        assert points.count() == days == 90
    assert page.locator('figure[data-series="new-lost"] rect.bar').count() == 2 * days
    screenshot(page, "overview")


def test_tabs_paging_and_csv_export(explorer: Explorer, page: Any, tmp_path: Path) -> None:
    domain = top_domain(explorer)
    page.goto(report(explorer, target=domain))
    page.click('nav.tabs a[data-tab="backlinks"]')
    page.wait_for_selector("table#rows")
    assert page.locator("nav.tabs a.active").get_attribute("data-tab") == "backlinks"
    screenshot(page, "backlinks", full_page=False)
    page.goto(report(explorer, target=domain, tab="backlinks", limit=10))
    seen: list[str] = []
    while True:
        seen += page.locator("table#rows tbody tr td:first-child a.url").all_inner_texts()
        following = page.locator("nav.pager a.next")
        if not following.count():
            break
        following.click()
        page.wait_for_selector("table#rows")
    api = all_rows(explorer, "/api/v1/backlinks", target=domain, limit=500)
    assert seen == [r["src"] for r in api]
    with page.expect_download() as download:
        page.click("a.csv")
    path = tmp_path / "backlinks.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["src"] for r in rows] == [r["src"] for r in api]
    for tab in ("referring-domains", "anchors", "top-pages", "lost", "broken-backlinks",
                "outgoing-domains"):  # fmt: skip
        page.click(f'nav.tabs a[data-tab="{tab}"]')
        page.wait_for_load_state()
        assert page.locator("nav.tabs a.active").get_attribute("data-tab") == tab
    page.goto(report(explorer, target=domain, tab="referring-domains", limit=500))
    names = page.locator("table#rows tbody tr td:first-child").all_inner_texts()
    api_domains = explorer.get("/api/v1/referring-domains", target=domain, limit=500)["rows"]
    assert names == [r["domain"] for r in api_domains]


def test_link_intersect(explorer: Explorer, page: Any) -> None:
    ranked = explorer.get("/api/v1/referring-domains", target=top_domain(explorer), limit=1)
    assert ranked["rows"]
    from collections import Counter

    a, b, c = [d for d, _ in Counter(e["dst_domain"] for e in
                                      explorer.web.expected_edges).most_common(3)]  # fmt: skip
    page.goto(f"{explorer.url}/intersect")
    page.fill('form.intersect input[name="target"] >> nth=0', a)
    page.fill('form.intersect input[name="target"] >> nth=1', b)
    page.fill('input[name="exclude"] >> nth=0', c)
    page.click("form.intersect button")
    page.wait_for_selector("section .tools a.csv")
    shown = page.locator("table#rows tbody tr td:first-child").all_inner_texts()
    api = explorer.get("/api/v1/intersect", target=[a, b], exclude=c, limit=500)["rows"]
    assert shown == [r["domain"] for r in api]


@pytest.mark.parametrize("tab", ["overview", "backlinks", "anchors", "referring-domains",
                                 "top-pages"])  # fmt: skip
def test_hostile_text_stays_text(explorer: Explorer, page: Any, tab: str) -> None:
    page.goto(report(explorer, target=EVIL, tab=tab))
    page.wait_for_load_state("load")
    assert page.dialogs == []
    assert page.locator("main img, main svg[onload], main script").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert page.evaluate("document.scripts.length") == 0
    if tab in ("backlinks", "anchors", "overview"):
        assert page.get_by_text(SCRIPT, exact=True).count() >= 1
    if tab == "backlinks":
        # A javascript: URL is shown, not linked.
        assert page.locator("span.url.inert", has_text="javascript:alert(").count() == 2


def test_chromium_is_the_debian_one() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is not installed ({CHROMIUM}; apt-get install chromium)")
    assert shutil.which("chromium") or os.access(CHROMIUM, os.X_OK)
