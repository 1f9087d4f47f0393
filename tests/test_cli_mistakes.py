"""Ordinary mistakes get one line and exit 2 (or 1 for a server that does
not answer), never a traceback, and nothing is changed before the input is
checked."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from backlinkbot.connection import CrawlKeys

from .crawling import backlinkbot, command_env, crawl_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(redis_url: str, mongo_uri: str, redis_prefix: str, tmp_path: Path) -> dict[str, str]:
    base = command_env(BACKLINKBOT_DATA_DIR=str(tmp_path / "data"))
    return {**base, **crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database="mistakes", prefix=redis_prefix,
    )}  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("backlinkbot")]
    assert len(errors) == 1 and text in errors[0], done.stderr


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["crawl", "--workers", "0", "https://example.com/"], "--workers: must be at least 1"),
        (["crawl", "--max-pages", "-1", "https://example.com/"], "0 (no limit) or more"),
        (["crawl", "--max-depth", "x", "https://example.com/"], "expected a whole number"),
        (["crawl", "--resume", "--fresh"], "not allowed with argument"),
        (["crawl", "--seeds", "/no/such/seeds.txt"], "no such file"),
        (["crawl", "--seeds", "/"], "is a directory"),
        (["crawl", "-s", "NOEQUALS", "https://example.com/"], "-s expects NAME=VALUE"),
        (["crawl"], "give seed URLs"),
        (["crawl", "notaurl"], "no usable seed"),
        (["crawl", "http://127.0.0.1:17300/"], "every seed would be refused"),
        (["recrawl", "--limit", "0"], "must be at least 1"),
        (["recrawl", "--older-than", "soon"], "expected a duration"),
        (["status", "--interval", "-1"], "must be at least 0"),
        (["rank", "--top", "-3"], "must be at least 0"),
        (["reset"], "--yes clears the frontier"),
        (["services", "restart"], "invalid choice"),
    ],
)
def test_usage_mistakes(argv: list[str], text: str, env: dict[str, str]) -> None:
    one_line_error(backlinkbot(*argv, env=env), 2, text)


def test_nothing_is_wiped_before_the_input_is_checked(
    env: dict[str, str], redis_client: redis.Redis, redis_prefix: str
) -> None:
    keys = CrawlKeys(redis_prefix)
    redis_client.rpush(keys.start_urls, "https://queued.example/")
    redis_client.set(keys.queued, 241)
    for argv in (["notaurl"], ["example.com"], ["--seeds", "/no/such/file"]):
        done = backlinkbot("crawl", *argv, env=env)
        assert done.returncode == 2, done.stderr
        assert redis_client.get(keys.queued) == b"241"
        assert redis_client.lrange(keys.start_urls, 0, -1) == [b"https://queued.example/"]
    # A valid seed on a frontier with work, and no terminal to ask on.
    one_line_error(
        backlinkbot("crawl", "example.com", env=env), 2,
        "still holds 241 queued requests, 1 seeds from an earlier crawl: "
        "--resume continues it, --fresh discards it",
    )  # fmt: skip
    assert redis_client.get(keys.queued) == b"241"


def test_a_refused_seed_names_the_setting_and_the_document(env: dict[str, str]) -> None:
    done = backlinkbot("crawl", "http://127.0.0.1:17300/", "http://10.1.2.3/", env=env)
    assert (
        "seed http://127.0.0.1:17300/ will not be fetched: the SSRF guard refuses "
        "loopback addresses (BACKLINKBOT_SSRF_ALLOW" in done.stderr
    )
    assert "private addresses" in done.stderr
    assert "docs/LOCAL_WEB.md" in done.stderr
    assert Path(__file__).parent.parent.joinpath("docs", "LOCAL_WEB.md").is_file()


def test_unknown_setting_names_are_warned_about_with_the_closest_one(
    env: dict[str, str],
) -> None:
    done = backlinkbot(
        "crawl", "-s", "BACKLINKBOT_MAX_PAGE=5", "notaurl",
        env={**env, "BACKLINKBOT_LOST_CONFIRM_SECOND": "5"},
    )  # fmt: skip
    assert (
        "warning: unknown setting BACKLINKBOT_MAX_PAGE given with -s; "
        "did you mean BACKLINKBOT_MAX_PAGES?"
    ) in done.stderr
    assert (
        "warning: unknown setting BACKLINKBOT_LOST_CONFIRM_SECOND in the environment; "
        "did you mean BACKLINKBOT_LOST_CONFIRM_SECONDS?"
    ) in done.stderr


def test_a_bad_value_in_the_environment_is_a_usage_mistake(env: dict[str, str]) -> None:
    done = backlinkbot("recrawl", env={**env, "BACKLINKBOT_RECRAWL_BATCH": "many"})
    one_line_error(done, 2, "BACKLINKBOT_RECRAWL_BATCH='many' in the environment")


def test_a_closed_redis_url_is_one_line(env: dict[str, str]) -> None:
    done = backlinkbot("status", env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    one_line_error(done, 1, "cannot reach Redis at redis://127.0.0.1:1/0 (REDIS_URL)")
    assert "check that the server runs" in done.stderr


def test_mongodb_unreachable_at_start_is_an_error_within_seconds(env: dict[str, str]) -> None:
    started = time.monotonic()
    done = backlinkbot(
        "crawl", "https://example.com/", env={**env, "MONGODB_URI": "mongodb://127.0.0.1:1/"}
    )
    assert time.monotonic() - started < 10
    one_line_error(done, 1, "cannot reach MongoDB at mongodb://127.0.0.1:1/ (MONGODB_URI)")
    assert "crawling from" not in done.stderr  # no worker was started


def test_passwords_are_masked_in_errors(env: dict[str, str]) -> None:
    done = backlinkbot("status", env={**env, "REDIS_URL": "redis://user:s3cret@127.0.0.1:1/0"})
    assert done.returncode == 1 and "s3cret" not in done.stderr
