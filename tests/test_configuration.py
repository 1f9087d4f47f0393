"""Every BACKLINKBOT_* setting from the environment, for workers as for
commands (``-s`` wins); unknown names warned about; components switched off
by their default not warned about."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from scrapy.settings import Settings

from backlinkbot.addon import BacklinkbotAddon
from backlinkbot.configuration import (
    SettingValueError,
    from_environment,
    unknown_setting_warnings,
)


def test_values_are_read_as_their_defaults_types() -> None:
    found = from_environment({
        "BACKLINKBOT_LOST_CONFIRM_SECONDS": "5",
        "BACKLINKBOT_RECRAWL_BATCH": "20",
        "BACKLINKBOT_FOLLOW_LINKS": "no",
        "BACKLINKBOT_LOG_JSON": "on",
        "BACKLINKBOT_SSRF_ALLOW": "10.0.0.0/8, .corp.example",
        "BACKLINKBOT_WORKER_ID": "w1",
        "BACKLINKBOT_STORE_INTERNAL": "",  # empty: the default stays
        "HOME": "/root",
    })  # fmt: skip
    assert found == {
        "BACKLINKBOT_LOST_CONFIRM_SECONDS": 5.0,
        "BACKLINKBOT_RECRAWL_BATCH": 20,
        "BACKLINKBOT_FOLLOW_LINKS": False,
        "BACKLINKBOT_LOG_JSON": True,
        "BACKLINKBOT_SSRF_ALLOW": ["10.0.0.0/8", ".corp.example"],
        "BACKLINKBOT_WORKER_ID": "w1",
    }


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BACKLINKBOT_FOLLOW_LINKS", "maybe", "expected true or false"),
        ("BACKLINKBOT_RECRAWL_BATCH", "2.5", "expected a whole number"),
        ("BACKLINKBOT_HOST_DELAY", "soon", "expected a number"),
    ],
)
def test_a_value_that_does_not_fit_is_refused(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingValueError, match=expected):
        from_environment({name: value})


def worker_setting(name: str, *args: str, **environ: str) -> str:
    """The value a worker sees, through Scrapy's own command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKLINKBOT_")}
    env.update(SCRAPY_SETTINGS_MODULE="backlinkbot.settings", **environ)
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "settings", "--get", name, *args],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_workers_read_every_setting_from_the_environment_and_s_wins() -> None:
    name = "BACKLINKBOT_LOST_CONFIRM_SECONDS"
    assert worker_setting(name) == "3600.0"
    assert worker_setting(name, BACKLINKBOT_LOST_CONFIRM_SECONDS="5") == "5.0"
    assert worker_setting(name, "-s", f"{name}=7", BACKLINKBOT_LOST_CONFIRM_SECONDS="5") == "7"


def test_unknown_names_get_the_closest_known_one() -> None:
    assert unknown_setting_warnings(
        ["BACKLINKBOT_MAX_PAGE", "BACKLINKBOT_MAX_PAGES", "BACKLINKBOT_WORKERS", "DEPTH_LIMIT",
         "BACKLINKBOT_API_TOKEN", "BACKLINKBOT_ZZZ"],
        "in the test",
    ) == [
        "unknown setting BACKLINKBOT_MAX_PAGE in the test; did you mean BACKLINKBOT_MAX_PAGES?",
        "unknown setting BACKLINKBOT_ZZZ in the test (the README lists the settings)",
    ]  # fmt: skip


def test_the_addon_warns_about_unknown_names(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings()
    settings.setmodule("backlinkbot.settings", priority="project")
    settings.set("BACKLINKBOT_STORE_INTERNL", True, priority="cmdline")
    settings.set("REDIS_URL", "redis://127.0.0.1:1", priority="cmdline")
    settings.set("MONGODB_URI", "mongodb://127.0.0.1:1/", priority="cmdline")
    with caplog.at_level(logging.WARNING):
        BacklinkbotAddon().update_settings(settings)
    assert (
        "unknown setting BACKLINKBOT_STORE_INTERNL in the settings; "
        "did you mean BACKLINKBOT_STORE_INTERNAL?"
    ) in caplog.messages


def test_a_component_off_by_default_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings()
    settings.setmodule("backlinkbot.settings", priority="project")
    settings.set("REDIS_URL", "redis://127.0.0.1:1", priority="cmdline")
    settings.set("MONGODB_URI", "mongodb://127.0.0.1:1/", priority="cmdline")
    settings.set("BACKLINKBOT_SSRF_GUARD", False, priority="cmdline")
    BacklinkbotAddon().update_settings(settings)
    middleware = logging.getLogger("scrapy.middleware")
    message = "Disabled %(clspath)s: %(eargs)s"
    with caplog.at_level(logging.DEBUG, logger="scrapy.middleware"):
        for clspath, reason in (
            ("backlinkbot.extensions.metrics.PrometheusMetrics", "BACKLINKBOT_METRICS_PORT is 0"),
            ("backlinkbot.extensions.jsonlogs.JsonLogs", "BACKLINKBOT_LOG_JSON is off"),
            ("backlinkbot.downloadermiddlewares.ssrf.SSRFGuardMiddleware",
             "BACKLINKBOT_SSRF_GUARD is off"),
        ):  # fmt: skip
            middleware.warning(message, {"clspath": clspath, "eargs": reason})
    levels = {r.args["clspath"].rpartition(".")[2]: r.levelname for r in caplog.records}  # type: ignore[index,union-attr]
    # The SSRF guard is on by default: switched off, that stays a warning.
    assert levels == {
        "PrometheusMetrics": "DEBUG", "JsonLogs": "DEBUG", "SSRFGuardMiddleware": "WARNING",
    }  # fmt: skip
