"""Sync each notebook pair, execute it top to bottom, and store the ``.ipynb`` with its outputs.

Each notebook is a jupytext pair: ``NN_name.py`` (percent format: the file to read, edit and
review) and ``NN_name.ipynb`` (the same cells, stored executed). Usage, from the repository root
with ``pip install -e '.[notebooks]'``::

    python notebooks/execute.py                  # every notebook
    python notebooks/execute.py 01_why_67        # the named ones (bare name, .py or .ipynb)

For each pair this runs ``jupytext --sync`` (the more recently modified file gives the cells),
executes the notebook in a fresh ``python3`` kernel with this folder as working directory
(nbclient), and writes the ``.ipynb`` without execution timings, widget state or the kernel's
version details, so a rerun changes the file only where cells or outputs change. It then syncs
again, so that the script is not older than its notebook.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
from jupytext.cli import jupytext as jupytext_cli
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT_S = 300


def sync(path: Path) -> None:
    if jupytext_cli(["--sync", "--quiet", str(path)]) != 0:
        raise SystemExit(f"jupytext --sync {path} failed")


def execute(name: str) -> None:
    script, notebook = HERE / f"{name}.py", HERE / f"{name}.ipynb"
    if not script.exists():
        raise SystemExit(f"execute.py: no notebook script {script}")
    sync(script)
    nb = jupytext.read(notebook)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,  # how a print is split into chunks depends on timing
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                print(f"  warning: stderr output in {name} {cell.id}: {out['text'][:200]!r}")
    jupytext.write(nb, notebook)
    sync(notebook)


def main(argv: list[str]) -> int:
    names = [Path(arg).stem for arg in argv] or sorted(
        path.stem for path in HERE.glob("[0-9][0-9]_*.py")
    )
    for name in names:
        start = time.perf_counter()
        execute(name)
        print(f"{name}: executed in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
