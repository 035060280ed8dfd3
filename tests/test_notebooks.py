"""The notebooks in ``notebooks/``: jupytext pairs in sync, stored executed, still run to the end.

Each notebook is a pair of files with the same cells: ``notebooks/NN_name.py`` (jupytext percent
format, one ``# %%`` marker per cell, markdown cells as comments) and ``notebooks/NN_name.ipynb``
(stored executed, with its outputs and figures). Neither is generated from anything else. To
change a notebook, edit either file (the ``.py`` in an editor, the ``.ipynb`` in Jupyter), then
re-sync and re-execute the pair from the repository root::

    python notebooks/execute.py 01_why_67   # jupytext --sync, run in a fresh kernel, store

``jupytext --sync notebooks/01_why_67.py`` alone re-syncs the pair without executing it (the
more recently modified file gives the cells). ``notebooks/README.md`` says the same at more
length.

Running the notebooks takes a kernel per notebook (about a minute in all); deselect with
``-m "not notebooks"``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
# Private jconv modules: notebooks use the public names only (import jconv, jconv.torch, ...).
PRIVATE = re.compile(r"\bjconv\._|\bfrom\s+jconv\s+import\s+[^#\n]*?\b_\w")


def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 4, f"notebooks missing from {FOLDER}"


def test_every_notebook_has_its_script():
    """``NN_name.ipynb`` and ``NN_name.py`` come in pairs, and the notebook names the pairing."""
    scripts = sorted(FOLDER.glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in scripts] == IDS
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        formats = nb["metadata"].get("jupytext", {}).get("formats", "")
        assert set(formats.split(",")) == {"ipynb", "py:percent"}, f"{path.name}: {formats!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_pair_in_sync(path):
    """The ``.py`` and the ``.ipynb`` hold the same cells: run ``jupytext --sync`` if not."""
    jupytext = pytest.importorskip("jupytext")
    script = path.with_suffix(".py")
    text_cells = [(c.cell_type, c.source) for c in jupytext.read(script).cells]
    stored_cells = [(c.cell_type, c.source) for c in jupytext.read(path).cells]
    for i, (a, b) in enumerate(zip(text_cells, stored_cells)):
        diff = "\n".join(difflib.unified_diff(a[1].splitlines(), b[1].splitlines(), lineterm=""))
        assert a == b, (
            f"{script.name} and {path.name} differ at cell {i} ({a[0]} / {b[0]}):\n{diff}\n"
            f"run `python notebooks/execute.py {path.stem}`"
        )
    assert len(text_cells) == len(stored_cells), (
        f"{script.name} has {len(text_cells)} cells, {path.name} {len(stored_cells)}; "
        f"run `python notebooks/execute.py {path.stem}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_with_outputs(path):
    """Every code cell was executed, in order, without errors, and a figure is stored."""
    cells = _code_cells(path)
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: run it top to bottom"
    outputs = [out for cell in cells for out in cell["outputs"]]
    assert not [out for out in outputs if out["output_type"] == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), f"{path.name}: no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_without_noise(path):
    """No execution timings, widget state, kernel version details or stderr (warnings)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"]
    assert nb["metadata"].get("language_info", {"name": "python"}) == {"name": "python"}
    timed = [cell["id"] for cell in nb["cells"] if "execution" in cell["metadata"]]
    assert not timed, f"{path.name}: execution timings stored in {timed}"
    stderr = [
        cell["id"]
        for cell in _code_cells(path)
        for out in cell["outputs"]
        if out["output_type"] == "stream" and out["name"] == "stderr"
    ]
    assert not stderr, f"{path.name}: stderr output stored in {stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_public_names_only(path):
    """The notebooks show the public API: no ``jconv._private`` module or name."""
    private = [
        (cell["id"], line)
        for cell in _code_cells(path)
        for line in _source(cell).splitlines()
        if PRIVATE.search(line)
    ]
    assert not private, f"{path.name}: private jconv names in {private}"


def test_private_pattern():
    """The pattern behind test_public_names_only catches what it should, and only that."""
    assert PRIVATE.search("from jconv._shapes import x")
    assert PRIVATE.search("import jconv._methods as m")
    assert PRIVATE.search("jconv._tf.conv(x)")
    assert PRIVATE.search("from jconv import _helpers")
    assert PRIVATE.search("from jconv import reference, _shapes")
    assert not PRIVATE.search("import jconv.torch as jt")
    assert not PRIVATE.search("from jconv import reference")
    assert not PRIVATE.search("jconv.conv2d_transpose(x, w)")
    assert not PRIVATE.search("from jconv import conv2d_transpose, pad_to_full")


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
    monkeypatch.setenv("JCONV_NOTEBOOK_QUICK", "1")  # every cell, fewer training steps and runs
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert any("image/png" in out.get("data", {}) for out in outputs), f"{path.name}: no figure"
