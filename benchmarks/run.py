"""``python benchmarks/run.py [options]``: the same as ``python -m jconv bench [options]``.

Thin wrapper over :mod:`jconv.bench` for running from a source checkout; see
``benchmarks/README.md`` and ``python benchmarks/run.py --help``.
"""

import pathlib
import sys

# A source checkout need not be installed: import jconv from the tree this file is in.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from jconv import bench  # noqa: E402

if __name__ == "__main__":
    sys.exit(bench.main(prog="python benchmarks/run.py"))
