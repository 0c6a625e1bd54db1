"""Every knob of every parameters cell can be injected by papermill without a warning."""
import ast
import logging
from pathlib import Path

import nbformat
import pytest
from papermill.translators import PythonTranslator

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged parameters"
    return cells[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_parses_every_knob(path, caplog):
    cell = _parameters_cell(path)
    assigned = [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)]
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = [p.name for p in PythonTranslator.inspect(cell)]
    assert not [r.getMessage() for r in caplog.records], f"papermill warned on {path.name}"
    assert found == assigned
    for knob in ("profile", "data_source", "data_dir", "output_dir", "seed", "tiny"):
        assert knob in found, f"{path.name}: no {knob!r} knob"
