"""The backlinkbot command, run as a user runs it (subprocesses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web

from .crawling import backlinkbot, command_env, crawl_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=2)


@pytest.fixture(scope="module")
def server(web: SyntheticWeb) -> Iterator[DemoWebServer]:
    with DemoWebServer(web) as running:
        yield running


def base_env(tmp_path: Path) -> dict[str, str]:
    return command_env(BACKLINKBOT_DATA_DIR=str(tmp_path / "data"))


def test_crawl_then_backlinks(
    web: SyntheticWeb, server: DemoWebServer, redis_url: str, mongo_uri: str,
    mongo_db: Any, redis_prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# seeds\n" + "\n".join(web.seeds[1:]) + "\nnot a url\n")
    env = {**base_env(tmp_path), **crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, proxy=server.url,
    )}  # fmt: skip
    done = backlinkbot(
        "crawl", web.seeds[0], "--seeds", str(seeds), "--workers", "2",
        "-s", "BACKLINKBOT_IDLE_POLL_INTERVAL=0.3", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ignoring seed 'not a url'" in done.stderr
    assert done.stdout.splitlines()[-1] == "crawl finished: the frontier is empty"
    assert f"links stored      {len(web.expected_edges)}" in done.stdout
    assert "embedded default" not in done.stderr

    # Who links to the most linked domain?
    counts: dict[str, int] = {}
    for edge in web.expected_edges:
        counts[edge["dst_domain"]] = counts.get(edge["dst_domain"], 0) + 1
    target = max(sorted(counts), key=lambda d: counts[d])
    answer = backlinkbot("backlinks", target, "--json", "--limit", "0", env=env)
    assert answer.returncode == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert report["by"] == "domain" and report["live_backlinks"] == counts[target]
    want = {(e["src"], e["dst"]) for e in web.expected_edges if e["dst_domain"] == target}
    assert {(b["src"], b["dst"]) for b in report["backlinks"]} == want
    referring = {e["src_domain"] for e in web.expected_edges if e["dst_domain"] == target}
    assert {r["domain"] for r in report["referring_domains"]} == referring

    bad = backlinkbot("backlinks", "http://[::1", "--json", env=env)
    assert bad.returncode == 2 and "unparsable" in bad.stderr


def test_crawl_without_seeds_is_a_usage_error(tmp_path: Path) -> None:
    done = backlinkbot("crawl", env=base_env(tmp_path), timeout=60)
    assert done.returncode == 2 and "seed" in done.stderr


def test_demo_runs_on_the_embedded_default(tmp_path: Path, local_data_dir: Path) -> None:
    env = {**base_env(tmp_path), "BACKLINKBOT_DATA_DIR": str(local_data_dir)}
    done = backlinkbot("demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embedded default: started Redis" in done.stderr
    assert "MongoDB-wire server" in done.stderr
    assert "crawl finished: the frontier is empty" in done.stdout
    assert "live backlinks from" in done.stdout and "Referring domains" in done.stdout
    assert "backlinkbot serve" in done.stdout  # how to open it in the explorer
