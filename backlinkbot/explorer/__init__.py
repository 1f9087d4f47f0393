"""The backlink explorer: a web report and a versioned JSON API over the graph.

``backlinkbot serve`` runs :func:`create_app` on uvicorn. The report's pages
(:mod:`.pages`, Jinja2 templates with autoescaping, server-drawn SVG charts,
no script) and the API (:mod:`.api`, OpenAPI at ``/api/v1/openapi.json``)
ask the same :class:`backlinkbot.storage.queries.Graph` as the CLI does.
docs/EXPLORER.md describes both.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
