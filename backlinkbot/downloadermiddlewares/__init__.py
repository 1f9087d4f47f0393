"""Downloader middlewares of the project (``DOWNLOADER_MIDDLEWARES``)."""
