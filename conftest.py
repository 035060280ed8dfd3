"""Doctests of the optional layer modules run only where their library is installed
(``pip install -e '.[test]'`` alone has neither Flax nor Equinox)."""

import importlib.util

collect_ignore = [
    path
    for path, library in (("jconv/nnx.py", "flax"), ("jconv/equinox.py", "equinox"))
    if importlib.util.find_spec(library) is None
]
