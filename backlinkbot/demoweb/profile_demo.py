"""The "demo" profile: a believable small outdoor-gear web around one shop.

Twenty-odd sites — magazines, blogs, a forum, a directory, review and news
sites on several public suffixes — write articles that link to each other and,
above all, to the shop ``www.northwind-outdoor.com`` (the ``demo_target``):
editorial links, forum posts (``ugc``), paid reviews (``sponsored``), banners
and a directory's click-tracking redirect. ``seed`` varies the articles.
"""

from __future__ import annotations

import random

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import add_homes, chrome_page, url
from backlinkbot.demoweb.model import Block, Link, Redirect, Site, Text

__all__ = ["TARGET", "build_demo_web"]

TARGET = "www.northwind-outdoor.com"
_SHOP = "shop.northwind-outdoor.com"
_DIRECTORY = "www.outdoor-directory.net"

# host, registrable domain, name, kind of site
_SITES = [
    (TARGET, "northwind-outdoor.com", "Northwind Outdoor", "target"),
    (_SHOP, "northwind-outdoor.com", "Northwind Outdoor Shop", "shop"),
    (_DIRECTORY, "outdoor-directory.net", "The Outdoor Directory", "directory"),
    (
        "www.trailrunner-magazine.com",
        "trailrunner-magazine.com",
        "Trailrunner Magazine",
        "magazine",
    ),
    ("forum.hikingtalk.org", "hikingtalk.org", "HikingTalk Forum", "forum"),
    ("www.alpine-club.org.uk", "alpine-club.org.uk", "The Alpine Club", "club"),
    ("www.gearreviewhub.com", "gearreviewhub.com", "Gear Review Hub", "reviews"),
    ("www.wanderlust-blog.de", "wanderlust-blog.de", "Wanderlust Blog", "blog"),
    ("www.bushwalking.com.au", "bushwalking.com.au", "Bushwalking Australia", "club"),
    ("emma-hikes.github.io", "emma-hikes.github.io", "Emma Hikes", "blog"),
    ("www.campingcanada.ca", "campingcanada.ca", "Camping Canada", "magazine"),
    ("www.randonnee-alpes.fr", "randonnee-alpes.fr", "Randonn\u00e9e Alpes", "blog"),
    ("www.nordic-trails.se", "nordic-trails.se", "Nordic Trails", "blog"),
    ("www.mountain-weather.info", "mountain-weather.info", "Mountain Weather", "news"),
    ("www.ultralight-lab.io", "ultralight-lab.io", "Ultralight Lab", "reviews"),
    ("www.parks-guide.co.nz", "parks-guide.co.nz", "Parks Guide NZ", "magazine"),
    ("www.climbing-daily.com", "climbing-daily.com", "Climbing Daily", "news"),
    ("www.cityherald.co.uk", "cityherald.co.uk", "The City Herald", "news"),
    ("www.summitgear.com", "summitgear.com", "Summit Gear", "rival"),
    ("www.scouts-adventure.org", "scouts-adventure.org", "Scouts Adventure", "club"),
    ("www.bergfreunde-forum.at", "bergfreunde-forum.at", "Bergfreunde Forum", "forum"),
]

_PRODUCTS = [
    ("/boots/trailblazer-gtx", "Trailblazer GTX boots"),
    ("/boots/ridge-runner", "Ridge Runner trail shoes"),
    ("/tents/summit-2", "Summit 2 tent"),
    ("/tents/basecamp-4", "Basecamp 4 family tent"),
    ("/jackets/stormshell", "StormShell jacket"),
    ("/packs/daypack-28", "Daypack 28"),
    ("/sleeping/arctic-down", "Arctic Down sleeping bag"),
]
_TARGET_PAGES = [
    ("/about", "About Northwind"),
    ("/stores", "Our stores"),
    ("/blog/layering-guide", "The layering guide"),
    ("/blog/leave-no-trace", "Leave no trace"),
    ("/checkout/cart", "Your cart"),
]
_BRAND_ANCHORS = [
    "Northwind Outdoor",
    "Northwind",
    "northwind-outdoor.com",
    "www.northwind-outdoor.com",
    "the official Northwind site",
    "click here",
    "this shop",
]
_TOPICS = [
    "A weekend on the ridge",
    "Ten tips for wet-weather hiking",
    "Packing light for the fells",
    "Winter camping without tears",
    "Our favourite family campsites",
    "How to choose hiking boots",
    "Trail report: the northern loop",
    "What to wear for alpine starts",
    "Budget gear that lasts",
    "Readers' photos of the month",
    "First aid on the trail",
    "Navigating with map and compass",
    "Long-distance trails for beginners",
    "Gear we tested this spring",
]
_PROSE = [
    "trail",
    "ridge",
    "summit",
    "valley",
    "weather",
    "forecast",
    "camp",
    "stove",
    "waterproof",
    "layers",
    "map",
    "compass",
    "boots",
    "blisters",
    "sunrise",
    "snow",
    "pass",
    "rain",
    "shelter",
    "route",
    "guide",
    "descent",
    "ascent",
    "lake",
    "forest",
    "bothy",
    "hut",
    "backpack",
    "tent",
]
_REL = {
    "forum": ["ugc nofollow", "ugc", "nofollow"],
    "reviews": ["sponsored", "sponsored nofollow", ""],
    "news": ["", "noopener"],
}


def build_demo_web(seed: int) -> WebBuilder:
    """Describe the demo web; ``build()`` on the result makes it."""
    rng = random.Random(f"demo:{seed}")
    b = WebBuilder(profile="demo", seed=seed)
    b.demo_target = TARGET
    for host, domain, _, _ in _SITES:
        b.add_site(Site(host, domain))
    b.sites[TARGET].robots = "User-agent: *\nDisallow: /checkout/\nDisallow: /account/\n"
    b.sites[TARGET].rules = [("/checkout/", False), ("/account/", False)]
    names = {host: name for host, _, name, _ in _SITES}
    _target_site(b, rng)
    others = [(h, n, kind) for h, _, n, kind in _SITES if kind not in ("target", "shop")]
    for host, name, kind in others:
        _articles(b, rng, host, name, kind, others)
    listing = [Link(url(h), names[h]) for h, _, _, _ in _SITES if h != _DIRECTORY]
    chrome_page(
        b,
        b.sites[_DIRECTORY],
        "/listings",
        "All listed sites",
        Block("main", listing),
        name=names[_DIRECTORY],
    )
    b.add_redirect(Redirect(url(_DIRECTORY, "/out/northwind"), url(TARGET), 302))
    add_homes(b, rng, names)
    b.seeds = [url(_DIRECTORY)]
    return b


def _prose(rng: random.Random) -> Text:
    sentences = [
        " ".join(rng.choices(_PROSE, k=rng.randint(8, 14))).capitalize() + "."
        for _ in range(rng.randint(2, 4))
    ]
    return Text(f"<p>{' '.join(sentences)}</p>")


def _target_site(b: WebBuilder, rng: random.Random) -> None:
    name = "Northwind Outdoor"
    for path, title in _PRODUCTS + _TARGET_PAGES:
        content: list[Link | Text | Block] = [_prose(rng)]
        if (path, title) in _PRODUCTS:
            content.append(Link(url(_SHOP, path), f"Buy the {title}"))
        chrome_page(b, b.sites[TARGET], path, title, Block("main", content), name=name)
    for path, title in _PRODUCTS:
        chrome_page(
            b,
            b.sites[_SHOP],
            path,
            f"{title} \N{EN DASH} shop",
            Block("main", [_prose(rng), Link(url(TARGET, path), "Product details")]),
            name="Northwind Outdoor Shop",
        )


def _target_link(rng: random.Random, kind: str) -> Link:
    """A link to the target: a product with its name, or the brand."""
    rel = rng.choice(_REL.get(kind, [""]))
    if rng.random() < 0.55:
        path, title = rng.choice(_PRODUCTS)
        return Link(url(TARGET, path), title, rel=rel)
    if rng.random() < 0.2:
        return Link(url(TARGET), image_alt="Northwind Outdoor", rel=rel)
    return Link(
        url(TARGET),
        rng.choice(_BRAND_ANCHORS),
        rel=rel,
        spelling=rng.choice(["absolute", "fragment", "utm"]),
    )


def _articles(
    b: WebBuilder,
    rng: random.Random,
    host: str,
    name: str,
    kind: str,
    others: list[tuple[str, str, str]],
) -> None:
    topics = rng.sample(_TOPICS, k=rng.randint(8, 12))
    for n, topic in enumerate(topics, 1):
        content: list[Link | Text | Block] = [_prose(rng)]
        if kind != "rival" and rng.random() < 0.7:
            content.append(_target_link(rng, kind))
            content.append(_prose(rng))
        for _ in range(rng.randint(0, 2)):
            other, other_name, _ = rng.choice(others)
            if other != host:
                content.append(Link(url(other), other_name, rel=rng.choice(_REL.get(kind, [""]))))
        aside: list[Block] = []
        if kind in ("magazine", "news") and n % 4 == 0:
            banner = Link(
                url(TARGET), image_alt="Northwind Outdoor \N{EN DASH} spring sale", rel="sponsored"
            )
            aside = [Block("aside", [Text("<h2>Advertisement</h2>"), banner])]
        if kind == "directory" and n == 1:
            content.append(Link(url(_DIRECTORY, "/out/northwind"), "Northwind Outdoor (visit)"))
        chrome_page(
            b, b.sites[host], f"/articles/{n}", topic, Block("main", content), *aside, name=name
        )
