"""Scrapy extensions of the project (``EXTENSIONS``)."""
