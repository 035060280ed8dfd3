"""Settings for the whole test run (tests/ and the doctests in jconv/).

* Doctests of the optional layer modules run only where their library is installed
  (``pip install -e '.[test]'`` alone has neither Flax nor Equinox).
* XLA:CPU's LLVM backend compiles at optimisation level 0 (``XLA_FLAGS``, inherited by the tests'
  subprocesses): compiles dominate the suite and take about 30% less time. Every HLO pass still
  runs, so the HLO the tests inspect and the CHECKs of XLA's known aborts (HLO-pass CHECKs) are
  the same; LLVM's level changes how fast the code runs, not which IEEE operations it performs.
  ``JCONV_TEST_XLA_OPT=default`` runs the tests at XLA's default level; ``python -m jconv``
  (the verify job) always does.
"""

import importlib.util
import os

if os.environ.get("JCONV_TEST_XLA_OPT", "0") != "default":
    _flag = "--xla_backend_optimization_level=0"
    if _flag not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_flag}".strip()

collect_ignore = [
    path
    for path, library in (("jconv/nnx.py", "flax"), ("jconv/equinox.py", "equinox"))
    if importlib.util.find_spec(library) is None
]
