"""backlinkbot's own settings from the environment, and a check of their names.

Every ``BACKLINKBOT_*`` setting of :mod:`backlinkbot.defaults` can be set as
an environment variable of the same name, for the ``backlinkbot`` commands
and for every worker alike (:mod:`backlinkbot.settings` reads them). The
value is read as the default's type: ``true``/``false`` (also ``1``/``0``,
``yes``/``no``, ``on``/``off``) for a switch, a number for a number,
comma-separated items for a list. Precedence, highest first: ``-s
NAME=VALUE`` (Scrapy's command line), the environment, the default.

A ``BACKLINKBOT_*`` name that is no setting is most likely a typo: the
commands and the workers warn about it with the closest known name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from backlinkbot import defaults

__all__ = [
    "KNOWN_SETTINGS",
    "SettingValueError",
    "from_environment",
    "unknown_setting_warnings",
]

KNOWN_SETTINGS: frozenset[str] = frozenset(defaults.__all__)
#: BACKLINKBOT_* variables that are not settings: the explorer's API token
#: (``backlinkbot serve``) and deploy/compose.yaml's replica count.
OTHER_VARIABLES = frozenset(
    {"BACKLINKBOT_API_TOKEN", "BACKLINKBOT_API_TOKEN_FILE", "BACKLINKBOT_WORKERS"}
)

_PREFIX = len("BACKLINKBOT_")
_SUFFIXES = sorted(name[_PREFIX:] for name in KNOWN_SETTINGS)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingValueError(ValueError):
    """An environment variable whose value does not fit its setting."""


def _convert(name: str, text: str, default: Any) -> Any:
    if isinstance(default, bool):
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise SettingValueError(f"{name}={text!r} in the environment: expected true or false")
    if isinstance(default, int | float):
        try:
            return type(default)(text.strip())
        except ValueError:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise SettingValueError(
                f"{name}={text!r} in the environment: expected {kind}"
            ) from None
    if isinstance(default, list):
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``BACKLINKBOT_*`` settings that ``environ`` sets (to a value that
    is not empty), converted to their defaults' types."""
    found = {}
    for name in sorted(KNOWN_SETTINGS):
        text = environ.get(name)
        if text:
            found[name] = _convert(name, text, getattr(defaults, name))
    return found


def unknown_setting_warnings(names: Iterable[str], where: str) -> list[str]:
    """A message for each ``BACKLINKBOT_*`` name among ``names`` that is no
    setting, naming the closest one; ``where`` says where it was given."""
    messages = []
    for name in sorted(set(names)):
        if not name.startswith("BACKLINKBOT_") or name in KNOWN_SETTINGS:
            continue
        if name in OTHER_VARIABLES:
            continue
        # Compared without the prefix, which every name shares.
        close = difflib.get_close_matches(name[_PREFIX:], _SUFFIXES, n=1, cutoff=0.6)
        hint = (
            f"; did you mean BACKLINKBOT_{close[0]}?" if close
            else " (the README lists the settings)"
        )  # fmt: skip
        messages.append(f"unknown setting {name} {where}{hint}")
    return messages
