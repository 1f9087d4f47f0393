"""Masks passwords in every log record of the worker
(:func:`backlinkbot.safety.secrets.install_log_masking`), from the moment the
crawler is built: extensions exist before Scrapy logs the overridden settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backlinkbot.safety.secrets import install_log_masking

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["SecretMasking"]


class SecretMasking:
    """Extension: installs :func:`install_log_masking` as the crawler starts
    (extensions are built before Scrapy logs the overridden settings)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SecretMasking:
        install_log_masking()
        return cls()
