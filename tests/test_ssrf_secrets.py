"""Credentials: read from files, masked in every log record."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from backlinkbot.extensions.secretmasking import SecretMasking
from backlinkbot.safety.secrets import mask_secrets, read_secret_file

from .crawling import crawl_web
from .hostile_server import HostileServer

SECRET = "t0p-s3cret-pw"


class _Seeds:
    def __init__(self, url: str) -> None:
        self.seeds = [url]
        self.url = ""  # no proxy


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("redis://:pw@r:6379/0", "redis://:****@r:6379/0"),
        ("rediss://default:s3cr%40t@r.internal:6380/1", "rediss://default:****@r.internal:6380/1"),
        (
            "mongodb://user:p%3Ass@m1,m2/?replicaSet=rs0&tls=true",
            "mongodb://user:****@m1,m2/?replicaSet=rs0&tls=true",
        ),
        (
            "{'MONGODB_URI': 'mongodb+srv://u:x@c.example/db'}",
            "{'MONGODB_URI': 'mongodb+srv://u:****@c.example/db'}",
        ),
        ("http://h/?a=1&password=hunter2&b=2", "http://h/?a=1&password=****&b=2"),
        ("redis://r:6379/0", "redis://r:6379/0"),
        ("user@example.com wrote", "user@example.com wrote"),
    ],
)
def test_mask_secrets(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    SecretMasking.from_crawler(get_crawler())
    with caplog.at_level(logging.INFO):
        logging.getLogger("scrapy.crawler").info(
            "Overridden settings:\n%(settings)s",
            {"settings": {"REDIS_URL": "redis://u:topsecret@r:1/0"}},
        )
    assert "topsecret" not in caplog.text
    assert "redis://u:****@r:1/0" in caplog.text


def test_read_secret_file(tmp_path: Path) -> None:
    path = tmp_path / "uri"
    path.write_text("mongodb://u:p@m/\n")
    assert read_secret_file(str(path)) == "mongodb://u:p@m/"
    path.write_text("\n")
    with pytest.raises(RuntimeError, match="empty"):
        read_secret_file(str(path))
    with pytest.raises(RuntimeError, match="cannot read"):
        read_secret_file(str(tmp_path / "missing"))


def test_a_worker_reads_credentials_from_a_file_and_never_logs_them(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    if not redis_url.startswith("unix:///"):
        pytest.skip("needs the embedded Redis (accepts any password for its default user)")
    secret_url = redis_url.replace("unix://", f"unix://default:{SECRET}@")
    (tmp_path / "redis_url").write_text(secret_url + "\n")
    monkeypatch.setenv("REDIS_URL_FILE", str(tmp_path / "redis_url"))
    with HostileServer() as server:
        site = _Seeds(f"{server.root}empty")
        summary = crawl_web(
            site, site,  # type: ignore[arg-type]
            redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, log_dir=tmp_path / "logs", workers=1,
            settings={"BACKLINKBOT_SSRF_ALLOW": "127.0.0.1/32", "LOG_LEVEL": "DEBUG"},
        )  # fmt: skip
    assert summary.ok, summary.exit_codes
    assert summary.stats.get("backlinkbot/pages/fetched") == 1
    log = (tmp_path / "logs" / "worker-0.log").read_text()
    assert "Overridden settings" in log
    assert SECRET not in log


@pytest.mark.parametrize("name", ["REDIS_URL", "MONGODB_URI"])
def test_settings_read_the_url_file_over_the_variable(name: str, tmp_path: Path) -> None:
    (tmp_path / "url").write_text(f"scheme://u:{SECRET}@from-file/\n")
    env = {**os.environ, name: "scheme://from-env/", f"{name}_FILE": str(tmp_path / "url")}
    code = f"import backlinkbot.settings as s; print(s.{name})"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"scheme://u:{SECRET}@from-file/"


def test_no_code_runs_through_a_worker_port() -> None:
    # Scrapy's telnet console and remote control both run code sent to a
    # local port; a worker is operated through Redis and the metrics port.
    from backlinkbot import settings

    assert settings.TELNETCONSOLE_ENABLED is False
    assert settings.REMOTE_CONTROL_ENABLED is False


REMOTE_CONTROL = "scrapy.extensions.remote_control.RemoteControl"
COOKIES = "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"


@pytest.mark.parametrize("switched_on", [False, True])
def test_disabled_default_components_are_left_out_not_imported(switched_on: bool) -> None:
    """Scrapy imports a component of its defaults, or of a setting's keys
    (``None`` included), before it finds it disabled; the remote control
    imports aiohttp and the cookies middleware tldextract. The add-on
    leaves the remote control out whatever ``REMOTE_CONTROL_ENABLED`` says
    (only naming it in ``EXTENSIONS`` brings it back), and the cookies
    middleware while ``COOKIES_ENABLED`` is off; the project settings name
    neither."""
    from scrapy.settings import Settings

    from backlinkbot import settings as project
    from backlinkbot.addon import BacklinkbotAddon

    assert REMOTE_CONTROL not in project.EXTENSIONS
    assert COOKIES not in project.DOWNLOADER_MIDDLEWARES

    def effective(**overrides: object) -> Settings:
        settings = Settings()
        settings.setmodule(project, priority="project")
        settings.setdict({"BACKLINKBOT_EMBEDDED": False, **overrides}, priority="cmdline")
        BacklinkbotAddon().update_settings(settings)
        return settings

    settings = effective(REMOTE_CONTROL_ENABLED=switched_on, COOKIES_ENABLED=switched_on)
    assert REMOTE_CONTROL not in settings.getwithbase("EXTENSIONS")
    assert (COOKIES in settings.getwithbase("DOWNLOADER_MIDDLEWARES")) is switched_on
    # The rest of Scrapy's defaults stay.
    assert "scrapy.extensions.corestats.CoreStats" in settings.getwithbase("EXTENSIONS")
    assert "scrapy.downloadermiddlewares.retry.RetryMiddleware" in settings.getwithbase(
        "DOWNLOADER_MIDDLEWARES"
    )
    # Named in EXTENSIONS, the remote control is there (and its switch decides).
    named = effective(EXTENSIONS={**project.EXTENSIONS, REMOTE_CONTROL: 0})
    assert REMOTE_CONTROL in named.getwithbase("EXTENSIONS")
