"""Downloader middleware spacing robots.txt and first contacts by their
host's IP address (``BACKLINKBOT_IP_DELAY``) before they are sent: the
requests the frontier's pop could not space by address
(:meth:`backlinkbot.frontier.spacing.Spacing.take_address_turn`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from backlinkbot.frontier.spacing import Resolve, Spacing, ip_delay_setting

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["AddressSpacing"]


class AddressSpacing:
    def __init__(self, spacing: Spacing, resolve: Resolve) -> None:
        self.spacing = spacing
        self.resolve = resolve

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressSpacing:
        if ip_delay_setting(crawler.settings) <= 0:
            raise NotConfigured("BACKLINKBOT_IP_DELAY is 0")
        return cls(Spacing.from_crawler(crawler), _resolve)

    async def process_request(self, request: Request) -> None:
        await self.spacing.take_address_turn(request, self.resolve)


async def _resolve(host: str) -> str:
    """``host``'s address from the crawl's resolver (``TWISTED_DNS_RESOLVER``,
    with its cache and address checks), which the connection then uses too."""
    from twisted.internet import reactor

    address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
    return str(address)
