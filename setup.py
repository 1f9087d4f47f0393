"""Egg packaging for scrapyd: ``scrapyd-deploy`` runs ``setup.py bdist_egg``.

Everything (name, version, the packages ``backlinkbot`` and ``pipelines``,
the ``scrapy`` entry point through which scrapyd finds the settings) comes
from pyproject.toml.
"""

from setuptools import setup

setup()
