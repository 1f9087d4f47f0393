"""What the commands' options accept, checked when they are parsed.

Each function here is an argparse ``type``: a value out of range is a usage
mistake, said in one line (exit 2), never a surprise later. A command that
finds a mistake only after parsing raises :class:`UsageError`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import timedelta

__all__ = ["UsageError", "ask", "at_least", "duration", "number_at_least"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class UsageError(Exception):
    """A mistake in what the user asked for: one line, exit 2."""


def at_least(minimum: int, *, zero_means: str | None = None) -> Callable[[str], int]:
    """A whole number of at least ``minimum`` (``zero_means``: what 0 does,
    said in the message, when 0 is allowed)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            what = f"at least {minimum}"
            if zero_means is not None and minimum == 0:
                what = f"0 ({zero_means}) or more"
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def number_at_least(minimum: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value >= minimum:  # also refuses nan
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 15m, 12h, 7d or 2w, got {text!r}"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])


def ask(question: str) -> bool | None:
    """Ask a yes/no question on the terminal (default no); None when there
    is no terminal to ask on."""
    if not sys.stdin.isatty():
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
