"""The notebooks in ``notebooks/`` are stored executed, and still run top to bottom.

Running them takes a kernel per notebook (tens of seconds in all); deselect with
``-m "not notebooks"``. They are rebuilt and re-executed by ``python notebooks/_build.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_with_outputs(path):
    """Every code cell was executed, in order, without errors, and a figure is stored."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: run it top to bottom"
    outputs = [out for cell in cells for out in cell["outputs"]]
    assert not [out for out in outputs if out["output_type"] == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), f"{path.name}: no figure"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")

    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    # The kernel inherits the environment: import the working tree's jconv, installed or not.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
