"""Spider middlewares of the project (``SPIDER_MIDDLEWARES``)."""
