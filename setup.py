"""Packaging entry point of rxpusher. The metadata is in pyproject.toml (PEP 621); this file
only stops a source install on a Python that is too old with a clear message (pip itself
refuses through ``requires-python``) and sets the Home-page field that older pip shows."""

import sys

if sys.version_info < (3, 11):
    sys.exit(
        "rxpusher needs Python 3.11 or later; this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}. "
        "Install it with a newer interpreter, e.g.: python3.11 -m pip install rxpusher"
    )

from setuptools import setup  # noqa: E402

# Home-page: what `pip show` of older pip prints (the [project.urls] of pyproject.toml are
# Project-URL fields, which it does not show).
setup(url="https://github.com/rxpusher/rxpusher")
