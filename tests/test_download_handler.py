"""PooledHTTPDownloadHandler: Scrapy's downloads, with Twisted agents reused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scrapy import Request

from backlinkbot.downloadhandlers.http import _agent_key

PROBE = Path(__file__).with_name("download_handler_probe.py")


def _key(url: str, timeout: float = 5, auth: bytes | None = None, **meta: object) -> tuple:
    headers = {"Proxy-Authorization": auth} if auth else {}
    return _agent_key(Request(url, meta=meta, headers=headers), timeout)


def test_agent_key_holds_every_input_of_the_agent() -> None:
    direct = _key("http://a.example/x")
    assert _key("http://b.example/other?q") == direct
    assert _key("http://a.example/x", timeout=7) != direct
    assert _key("http://a.example/x", bindaddress=("127.0.0.2", 0)) != direct
    proxied = _key("http://a.example/x", proxy="http://p:8080")
    assert proxied != direct
    assert _key("http://a.example/x", proxy="http://q:8080") != proxied
    # Plain http through a proxy: credentials travel as a request header,
    # not in the agent, so one agent serves every user.
    assert _key("http://a.example/x", auth=b"Basic a", proxy="http://p:8080") == proxied
    # https through a proxy: the tunnel agent holds the credentials.
    tunnel = _key("https://a.example/x", auth=b"Basic a", proxy="http://p:8080")
    assert tunnel != proxied
    assert _key("https://a.example/x", auth=b"Basic b", proxy="http://p:8080") != tunnel
    assert _key("https://a.example/y", auth=b"Basic a", proxy="http://p:8080") == tunnel
    assert _key("https://a.example/x") == _key("https://b.example/y")


def test_downloads_reuse_one_agent_and_endpoint_per_route() -> None:
    out = subprocess.run(
        [sys.executable, str(PROBE)], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout)
    by_path = {json_row["url"].split("/", 3)[3]: json_row for json_row in result["responses"]}
    assert len(by_path) == 26
    for i in range(4):
        for again in ("", "/again"):
            part = (f"close/{i}" if i % 2 else str(i)) + again
            direct = by_path[f"direct/{part}"]
            assert (direct["server"], direct["target"]) == ("origin", f"/direct/{part}")
            via_a = by_path[f"via-a/{part}"]
            assert (via_a["server"], via_a["target"]) == (
                "proxy-a",
                f"http://a.example/via-a/{part}",
            )
            assert via_a["proxy_auth"] is None
            via_b = by_path[f"via-b/{part}"]
            assert (via_b["server"], via_b["host"]) == ("proxy-b", "b.example")
            assert via_b["proxy_auth"] == "Basic dXNlcjpzZWNyZXQ="  # user:secret
    assert by_path["timeout"]["server"] == "origin"
    # Connections closed by the server were replaced, through the same endpoint.
    for route in ("direct", "via-a", "via-b"):
        connections = {row["connection"] for path, row in by_path.items() if path.startswith(route)}
        assert len(connections) > 1, route
    # 26 downloads, 4 routes: direct, proxy a, proxy b, direct with its own timeout.
    agents = sorted((a["type"], a["proxy"] or "", a["timeout"]) for a in result["agents"].values())
    assert [(kind, timeout) for kind, _, timeout in agents] == [
        ("_BindAddressAgent", 5.0), ("_BindAddressAgent", 7),
        ("_ScrapyProxyAgent", 5.0), ("_ScrapyProxyAgent", 5.0),
    ]  # fmt: skip
    assert len({proxy for _, proxy, _ in agents if proxy}) == 2
    assert all(a["same_endpoint"] for a in result["agents"].values())
