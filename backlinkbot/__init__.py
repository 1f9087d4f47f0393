"""backlinkbot: a distributed crawler that builds a backlink graph."""

from __future__ import annotations

__all__ = ["PROJECT_URL", "USER_AGENT", "__version__"]

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/backlinkbot/backlinkbot"
#: How the crawler identifies itself; robots.txt rules are matched on the
#: product token ``backlinkbot``.
USER_AGENT = f"backlinkbot/{__version__} (+{PROJECT_URL})"
