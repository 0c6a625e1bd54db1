"""The runner executes notebooks: it continues past a failing one, and 07 completes on a folder
laced with bad files, counting them."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.cli import main


@pytest.mark.slow
def test_07_smoke_on_laced_folder_completes_and_counts_bad_files(tmp_path, laced_folder):
    from course_utils.tools.runner import run_notebooks

    folder = tmp_path / "laced"
    expected = laced_folder(folder)
    rows = run_notebooks(["07_monkeypox_classifier"], profile="smoke", output_dir=tmp_path / "out",
                         params={"data_dir": str(folder)})
    assert rows[0]["status"] == "ok", rows[0]["error"]
    doc = rows[0]["metrics_doc"]
    m = doc["metrics"]
    assert m["n_bad_files_skipped"] == expected["bad"]
    assert m["n_images"] == expected["good"]  # the grayscale and CMYK images were kept
    assert m["positive_class"] == "Alpha"      # the first class alphabetically
    assert doc["data"]["monkeypox_msld"]["source"] == "data_dir"
    assert not doc["synthetic"]


@pytest.mark.slow
def test_runner_continues_past_a_failing_notebook_and_exits_nonzero(tmp_path, capsys):
    bad = _notebook(tmp_path / "bad.ipynb", "raise RuntimeError('boom')")
    good = _notebook(tmp_path / "good.ipynb",
                     "import json, pathlib\n"
                     "pathlib.Path(output_dir, 'good.metrics.json').write_text(json.dumps("
                     "{'profile': profile, 'metrics': {'answer': 42}, 'data': {}}))")
    out = tmp_path / "out"
    code = main(["run", str(bad), str(good), "--profile", "smoke", "--output-dir", str(out), "-p", "seed", "7"])
    assert code == 1
    rows = json.loads((out / "results.json").read_text())
    assert [r["status"] for r in rows] == ["FAILED", "ok"]
    assert "boom" in rows[0]["error"]
    md = (out / "results.md").read_text()
    assert "| bad | FAILED |" in md and "answer=42" in md
    assert (out / "executed" / "good.ipynb").exists()


def _notebook(path: Path, body: str):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "auto"\ndata_source = "auto"\noutput_dir = "outputs"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path
