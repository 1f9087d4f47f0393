"""Decompression with a bounded output, and bombs recorded as failed pages.

Scrapy 2.19's ``HttpCompressionMiddleware`` already stops decompressing once
the output passes ``DOWNLOAD_MAXSIZE`` (a 100 kB gzip of zeros can expand
to gigabytes), but it then raises ``IgnoreRequest``, which the spider treats
as "skipped by policy": no page, no count. This subclass raises
:class:`DecompressionBomb` instead, so the spider records the URL as a page
that failed (``error: "DecompressionBomb"``) and counts it under
``backlinkbot/pages/error/DecompressionBomb``; the middleware also counts
``backlinkbot/hostile/decompression_bomb``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import (
    HttpCompressionMiddleware as _ScrapyHttpCompression,
)
from scrapy.exceptions import IgnoreRequest
from scrapy.utils._compression import _DecompressionMaxSizeExceeded

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["DecompressionBomb", "HttpCompressionMiddleware"]


class DecompressionBomb(Exception):
    """A response whose decompressed body exceeds ``DOWNLOAD_MAXSIZE``."""


class HttpCompressionMiddleware(_ScrapyHttpCompression):
    def process_response(  # type: ignore[override]  # no deprecated spider argument
        self, request: Request, response: Response
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if not isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise
            if self.stats is not None:
                self.stats.inc_value("backlinkbot/hostile/decompression_bomb")
            raise DecompressionBomb(str(exc)) from exc
