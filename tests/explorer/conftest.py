"""A crawled demo web in the MongoDB-wire server, ranked, with a few hostile
links beside it, and the explorer served over it on a free local port.

The crawl runs once per test session (per xdist worker) for every explorer
test: the API tests compare the answers with the web's ground truth, the
browser tests with the API's.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
import uvicorn

from backlinkbot.commands.serve import bind
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.explorer import create_app
from backlinkbot.ranking import rank_database
from backlinkbot.storage.domains import recount_domains
from backlinkbot.storage.queries import Graph
from backlinkbot.storage.schema import link_id

from ..crawling import crawl_web

EVIL = "evil.example"
ATTACKER = "attacker.example"
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
#: Links whose text and URLs try to run script in the report.
HOSTILE = [
    {"src": f"http://{ATTACKER}/1", "dst": f"http://{EVIL}/", "anchor": SCRIPT},
    {"src": f"http://{ATTACKER}/2", "dst": f"http://{EVIL}/", "anchor": IMG},
    {"src": "javascript:alert(3)", "dst": f"http://{EVIL}/x", "anchor": "js source"},
    {"src": f"http://{ATTACKER}/3", "dst": "javascript:alert(4)", "anchor": "js target",
     "alt": '"><svg onload=alert(5)>'},
]  # fmt: skip


@dataclass
class Explorer:
    web: SyntheticWeb
    db: Any
    url: str
    client: httpx.Client

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.text)
        return response.json()


def _hostile_docs(now: datetime) -> list[dict[str, Any]]:
    docs = []
    for spec in HOSTILE:
        doc = {
            "src_host": ATTACKER, "dst_host": EVIL, "src_domain": ATTACKER, "dst_domain": EVIL,
            "anchor": "", "alt": "", "image": False, "kind": "a", "nofollow": False,
            "ugc": False, "sponsored": False, "section": "main", "src_ip": "192.0.2.1",
            "first_seen": now, "last_seen": now, **spec,
        }  # fmt: skip
        doc["_id"] = link_id(doc["src"], doc["dst"])
        docs.append(doc)
    return docs


@pytest.fixture(scope="session")
def crawled(
    redis_url: str, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SyntheticWeb, Any]]:
    web = generate_web(profile="test", seed=1)
    name = f"test_explorer_{uuid.uuid4().hex[:8]}"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri, tz_aware=True)
    db = client[name]
    log_dir: Path = tmp_path_factory.mktemp("explorer-crawl")
    with DemoWebServer(web) as server:
        summary = crawl_web(web, server, redis_url=redis_url, mongo_uri=mongo_uri,
                            database=name, prefix=f"test-{uuid.uuid4().hex[:8]}",
                            log_dir=log_dir)  # fmt: skip
    assert summary.ok, summary.exit_codes
    rank_database(db)
    db.links.insert_many(_hostile_docs(datetime.now(UTC).replace(microsecond=0)))
    recount_domains(db, [EVIL])
    try:
        yield web, db
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture(scope="session")
def explorer(crawled: tuple[SyntheticWeb, Any]) -> Iterator[Explorer]:
    """The explorer over the crawled web, on uvicorn in a thread."""
    web, db = crawled
    app = create_app(Graph(db, max_time_ms=20_000))
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the explorer did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Explorer(web, db, url, client)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
