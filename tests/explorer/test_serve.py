"""``backlinkbot serve`` as a user runs it: the printed address answers,
a configured token is required on every request, and another address than
loopback is refused without a token."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from backlinkbot.commands.serve import is_loopback

from .conftest import EVIL

pytestmark = pytest.mark.e2e
TOKEN = "s3cret-token-of-20-chars"


@contextmanager
def serving(env: dict[str, str], *argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with subprocess.Popen(
        [sys.executable, "-m", "backlinkbot", "serve", *argv], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("backlinkbot explorer listening on http://127.0.0.1:"), line
            yield process, line.split()[-1].rstrip("/")
        finally:
            process.terminate()
            process.wait(timeout=20)


def command_env(
    crawled: tuple[Any, Any], mongo_uri: str, redis_url: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKLINKBOT_API_TOKEN")}
    env.update(MONGODB_URI=mongo_uri, REDIS_URL=redis_url, MONGODB_DATABASE=crawled[1].name,
               **extra)  # fmt: skip
    return env


def test_serve_prints_its_address_and_answers(
    crawled: tuple[Any, Any], mongo_uri: str, redis_url: str
) -> None:
    with serving(command_env(crawled, mongo_uri, redis_url)) as (_, url):
        response = httpx.get(f"{url}/api/v1/overview", params={"target": EVIL}, timeout=30)
        assert response.status_code == 200 and response.json()["backlinks"] == 4


def test_a_configured_token_is_checked_on_every_request(
    crawled: tuple[Any, Any], mongo_uri: str, redis_url: str
) -> None:
    env = command_env(crawled, mongo_uri, redis_url, BACKLINKBOT_API_TOKEN=TOKEN)
    with serving(env) as (_, url):
        for path in ("/", "/api/v1/openapi.json", "/static/explorer.css"):
            refused = httpx.get(f"{url}{path}", timeout=30)
            assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        wrong = httpx.get(f"{url}/", headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=30)
        assert wrong.status_code == 401
        bearer = httpx.get(f"{url}/api/v1/overview", params={"target": EVIL},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)  # fmt: skip
        assert bearer.status_code == 200
        basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
        page = httpx.get(f"{url}/", headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert page.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_another_address_needs_a_token(
    crawled: tuple[Any, Any], mongo_uri: str, redis_url: str, host: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backlinkbot", "serve", "--host", host],
        env=command_env(crawled, mongo_uri, redis_url), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "API token" in done.stderr


def test_short_tokens_are_refused(crawled: tuple[Any, Any], mongo_uri: str, redis_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backlinkbot", "serve"], capture_output=True, text=True,
        env=command_env(crawled, mongo_uri, redis_url, BACKLINKBOT_API_TOKEN="short"), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "at least 16" in done.stderr


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
