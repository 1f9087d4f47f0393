"""A synthetic multi-host web with exact ground truth, and a server for it.

:func:`generate_web` builds a finite web of several hosts whose links are
chosen first and written second, so the edges a correct crawl stores are known
exactly. :class:`DemoWebServer` serves every host of it as an HTTP proxy (and
by ``Host`` header), so a crawler reaches it through ``http_proxy``.
"""

from __future__ import annotations

from backlinkbot.demoweb.generator import PROFILES, generate_web
from backlinkbot.demoweb.model import Resource, SyntheticWeb
from backlinkbot.demoweb.server import DemoWebServer, serve

__all__ = ["PROFILES", "DemoWebServer", "Resource", "SyntheticWeb", "generate_web", "serve"]
