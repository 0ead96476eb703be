"""Every notebook in notebooks/ runs top to bottom, and is stored without outputs.

The notebooks run with nbclient in a kernel on *this* interpreter: a kernel spec named
``python3`` pointing at ``sys.executable`` is written to a temporary JUPYTER_PATH (which
Jupyter searches first), so the test needs nothing but ``pip install .[test]`` - no
``ipykernel install``, and a ``python3`` kernel installed elsewhere on the machine is
never picked up by mistake.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# the `test` extra installs these: a missing one is a failure, not a skip
import ipykernel  # noqa: F401  (the kernel the notebooks run on)
import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture
def this_python_kernel(tmp_path: Path, monkeypatch) -> str:
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (this interpreter)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return "python3"


def test_there_are_notebooks() -> None:
    assert any(p.name == "wechat_crisis.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear outputs before saving (cell starting {cell.source[:40]!r})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, this_python_kernel: str) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name=this_python_kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()      # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    # figures are shown as images, not as "<Figure size ...>" text
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    plots = sum(c.source.lstrip().startswith("plot_") for c in nb.cells if c.cell_type == "code")
    assert len(images) >= plots
