"""Extension recording each host's IP address, from its direct answers, for
the frontier's per-IP spacing (``BACKLINKBOT_IP_DELAY``;
:meth:`backlinkbot.frontier.spacing.Spacing.learn_address`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from backlinkbot.frontier.spacing import Spacing, ip_delay_setting

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["HostAddresses"]


class HostAddresses:
    def __init__(self, spacing: Spacing) -> None:
        self.spacing = spacing

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostAddresses:
        if ip_delay_setting(crawler.settings) <= 0:
            raise NotConfigured("BACKLINKBOT_IP_DELAY is 0")
        ext = cls(Spacing.from_crawler(crawler))
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def response_received(self, response: Response, request: Request, **_: Any) -> None:
        self.spacing.learn_address(request, response.ip_address)
