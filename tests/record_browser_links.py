"""Record what headless Chromium sees as the links of every corpus page.

``python -m tests.record_browser_links [--chromium /usr/bin/chromium]``
loads each page of :mod:`tests.linkcorpus` in Debian's ``chromium``, driven
by Playwright's Python package (``pip install playwright``; no browser is
downloaded), with JavaScript off and every request intercepted: the page
itself is answered with its recorded bytes and ``Content-Type``, a later
navigation of the top frame (a meta refresh) is noted and answered ``204 No
Content`` so the document stays, anything else (subresources, frames) is
aborted, and host names resolve nowhere.
It writes :data:`OUT`, which ``tests/test_linkextraction_browser.py``
compares our extractor with; that test needs no browser.

For each ``a``/``area`` link (HTML ``<a>``, ``<area>`` and SVG ``<a>``, in
tree order): the ``href`` as resolved by the browser (in the document's
encoding), whether it parses, the ``rel`` tokens (``relList``), the text
content with and without ``<script>``/``<style>`` text, the first ``<img>``'s
``alt`` (the ``alt`` of an ``<area>``) and the nearest landmark in
Chromium's accessibility tree. For the page: ``document.characterSet``,
``document.baseURI``, the HTML ``<link>`` elements whose rel has
``canonical``, the first navigation a meta refresh starts (virtual time
runs ten minutes ahead, so long delays fire too), and links inside
declarative shadow roots, which ``querySelectorAll`` does not reach.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.linkcorpus import DATA, CorpusPage, corpus

__all__ = ["OUT", "record"]

OUT = DATA / "links" / "chromium.json"

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Belt and braces: nothing is fetched, and no name resolves either.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
#: Virtual time a page is given for its meta refresh to fire.
REFRESH_BUDGET_MS = 600_000

# Runs in the page (scripting is off for the page's own scripts only).
_COLLECT = """() => {
  const HTML = "http://www.w3.org/1999/xhtml", SVG = "http://www.w3.org/2000/svg";
  const XLINK = "http://www.w3.org/1999/xlink";
  const resolver = document.createElement("a");
  const resolve = (value) => { resolver.setAttribute("href", value); return resolver.href; };
  const lower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const visible = (root) => {
    let out = "";
    const stack = [...root.childNodes].reverse();
    while (stack.length) {
      const node = stack.pop();
      if (node.nodeType === Node.TEXT_NODE || node.nodeType === Node.CDATA_SECTION_NODE) {
        out += node.data;
      } else if (node.nodeType === Node.ELEMENT_NODE
                 && node.localName !== "script" && node.localName !== "style") {
        for (let i = node.childNodes.length - 1; i >= 0; i--) stack.push(node.childNodes[i]);
      }
    }
    return out;
  };
  const link = (el, index) => {
    const ns = el.namespaceURI === SVG ? "svg" : "html";
    const plain = el.getAttribute("href");
    const attr = plain !== null ? plain : (ns === "svg" ? el.getAttributeNS(XLINK, "href") : null);
    const img = el.localName === "a" ? el.querySelector("img") : null;
    return {
      index, tag: el.localName, ns, attr, xlink: plain === null,
      href: ns === "html" ? el.href : resolve(attr),
      valid: URL.canParse(attr, document.baseURI),
      rel: [...el.relList],
      text: el.textContent, visible: visible(el),
      img: img ? {alt: img.getAttribute("alt")} : null,
      alt: el.localName === "area" ? el.getAttribute("alt") : null,
    };
  };
  const isLink = (el) => (el instanceof HTMLAnchorElement || el instanceof HTMLAreaElement)
    ? el.hasAttribute("href")
    : el instanceof SVGAElement && (el.hasAttribute("href") || el.hasAttributeNS(XLINK, "href"));
  const all = [...document.querySelectorAll("a, area")];
  const links = [];
  all.forEach((el, i) => { if (isLink(el)) links.push(link(el, i)); });
  const shadow = [];
  for (const host of document.querySelectorAll("*")) {
    if (!host.shadowRoot) continue;
    for (const el of host.shadowRoot.querySelectorAll("a, area")) {
      if (isLink(el)) shadow.push(link(el, -1));
    }
  }
  const canonicals = [...document.querySelectorAll("link")]
    .filter((el) => el instanceof HTMLLinkElement
            && [...el.relList].some((t) => lower(t) === "canonical"))
    .map((el) => ({attr: el.getAttribute("href"), href: el.hasAttribute("href") ? el.href : null,
                   rel: [...el.relList]}));
  return {charset: document.characterSet, base: document.baseURI, contentType: document.contentType,
          links, shadow, canonicals};
}"""

_LANDMARKS = {
    "banner": "header",
    "navigation": "nav",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "main",
}


def _sections(cdp: Any, indexes: list[int]) -> list[str | None]:
    """The landmark of each link (by index among ``a, area``) in Chromium's
    accessibility tree; None for a link the tree does not hold."""
    cdp.send("Accessibility.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]
    backend: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        backend[node["nodeId"]] = node["backendNodeId"]
        stack.extend(node.get("children", ()))
    ids = cdp.send("DOM.querySelectorAll", {"nodeId": root["nodeId"], "selector": "a, area"})
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    by_id = {node["nodeId"]: node for node in nodes}
    by_backend = {node["backendDOMNodeId"]: node for node in nodes if "backendDOMNodeId" in node}
    sections: list[str | None] = []
    for index in indexes:
        ax = by_backend.get(backend.get(ids["nodeIds"][index], -1))
        if ax is None or ax.get("ignored"):
            sections.append(None)
            continue
        section = "body"
        parent = by_id.get(ax.get("parentId", ""))
        while parent is not None:
            role = parent.get("role", {}).get("value")
            if role in _LANDMARKS:
                section = _LANDMARKS[role]
                break
            parent = by_id.get(parent.get("parentId", ""))
        sections.append(section)
    return sections


def _load(context: Any, page: CorpusPage) -> dict[str, Any]:
    navigations: list[str] = []
    served = False

    def route(route: Any) -> None:
        nonlocal served
        request = route.request
        # The first navigation is the page itself (its URL as the browser
        # serializes it); any later one comes from a refresh.
        top = request.is_navigation_request() and request.frame.parent_frame is None
        if top and not served:
            served = True
            headers = {"Content-Type": page.content_type} if page.content_type else {}
            route.fulfill(status=200, headers=headers, body=page.body)
        elif top:
            navigations.append(request.url)
            route.fulfill(status=204, body=b"")
        else:
            route.abort()  # subresources and frames

    tab = context.new_page()
    tab.route("**/*", route)
    cdp = context.new_cdp_session(tab)
    tab.goto(page.url, wait_until="load")
    cdp.send("Emulation.setVirtualTimePolicy", {"policy": "advance", "budget": REFRESH_BUDGET_MS})
    tab.wait_for_timeout(500)
    seen = tab.evaluate(_COLLECT)
    for link, section in zip(
        seen["links"], _sections(cdp, [link["index"] for link in seen["links"]]), strict=True
    ):
        link["section"] = section
        del link["index"]
    for link in seen["shadow"]:
        del link["index"]
    seen["refresh"] = navigations[0] if navigations else None
    seen["sha256"] = page.sha256
    tab.close()
    return seen


def record(chromium: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            args=ARGS,
            headless=True,
            java_script_enabled=False,
        )
        try:
            version = context.browser.version if context.browser else ""
            pages = {}
            for page in corpus():
                pages[page.id] = _load(context, page)
                print(f"{page.id}: {len(pages[page.id]['links'])} links", file=sys.stderr)
        finally:
            context.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    head = {
        "chromium": version,
        "javascript": False,
        "recorded_by": "python -m tests.record_browser_links",
    }
    out.write_text(_dump(head, pages), encoding="utf-8")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _dump(head: dict[str, Any], pages: dict[str, dict[str, Any]]) -> str:
    """JSON with one line per link, so that a re-recording diffs well."""
    lines = ["{"] + [f"{_compact(key)}:{_compact(value)}," for key, value in head.items()]
    lines.append('"pages":{')
    for n, (page_id, page) in enumerate(sorted(pages.items())):
        for link in page["links"] + page["shadow"]:
            if link["text"] == link["visible"]:
                del link["text"]  # the usual case: no script or style text
        rest = {key: value for key, value in page.items() if key not in ("links", "shadow")}
        lines.append(f"{_compact(page_id)}:{{{_compact(rest)[1:-1]},")
        for key in ("links", "shadow"):
            items = [_compact(link) for link in page[key]]
            lines.append(f'"{key}":[' + ("\n" + ",\n".join(items) + "\n" if items else "") + "]")
            lines[-1] += "," if key == "links" else ""
        lines.append("}" + ("," if n < len(pages) - 1 else ""))
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    record(args.chromium, args.out)


if __name__ == "__main__":
    main()
