"""Link extraction: the links an HTML document carries (docs/LINK_EXTRACTION.md).

- :mod:`.extractor`: :func:`extract_links`, one parse of the document.
- :mod:`.sections`: the landmark (header, nav, main, ...) each link sits in.
- :mod:`.depth`: a bound on element nesting, applied before the parse.
- :mod:`.refresh`: the target of a ``<meta http-equiv=refresh>``.
"""

from .extractor import MAX_TEXT, ExtractedPage, extract_links

__all__ = ["MAX_TEXT", "ExtractedPage", "extract_links"]
