"""Every notebook in notebooks/ executes top to bottom without an error (nbclient), against
the local server, each within its time budget. Outputs are not written back."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "rxpusher-test"
BUDGET_SECONDS = 60  # each runs in well under 20 s; generous for slow CI machines


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A kernel spec running this very interpreter, so the notebooks see the same packages
    (and nothing like ``python -m ipykernel install`` is needed)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rxpusher tests", "language": "python",
    }))
    return {"JUPYTER_PATH": str(root)}


def test_there_are_seven_notebooks() -> None:
    assert len(NOTEBOOKS) == 7, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: dict[str, str],
                                     repo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    for name, value in {**repo_env, **kernel_env}.items():
        monkeypatch.setenv(name, value)   # the kernel inherits this process's environment
    notebook = nbformat.read(path, as_version=4)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    if "USE_LOCAL_SERVER" in source:
        assert "USE_LOCAL_SERVER = True" in source, "notebooks use the local server by default"
    assert "time.sleep(" not in source, "await a condition instead of sleeping"
    client = nbclient.NotebookClient(
        notebook, kernel_name=KERNEL, timeout=60, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError on the first cell that fails
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, f"{path.name} took {elapsed:.1f} s"
    errors = [o for cell in notebook.cells if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
