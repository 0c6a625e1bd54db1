"""The runner goes on past failures and reports; the CLI answers."""
import json
from pathlib import Path

import nbformat
import pytest

from course_utils.cli import main


def _notebook(path: Path, body: str):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "auto"\ndata_source = "auto"\noutput_dir = "outputs"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


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


def test_cli_data_list_and_errors(capsys):
    assert main(["data", "list"]) == 0
    assert "mnist" in capsys.readouterr().out
    assert main(["data", "fetch"]) == 2
    assert main(["data", "verify", "no_such_dataset"]) == 2
    assert "no manifest called" in capsys.readouterr().err


def test_cli_doctor_reports_cache_and_mirrors(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "== accelerators ==" in out and tmp_path.name in out and "keras_vgg16_notop" in out


def test_unknown_notebook_is_a_clear_error():
    from course_utils.runner import resolve_notebook

    with pytest.raises(FileNotFoundError, match="no single notebook"):
        resolve_notebook("99_nothing")
    assert resolve_notebook("00").stem == "00_setup"


def test_relative_data_folders_keep_their_meaning_inside_kernels(monkeypatch, tmp_path):
    from course_utils.config import absolutize_env

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_MIRROR", "../mirror https://example.org/mirror")
    monkeypatch.setenv("COURSE_DATA_ROOT", "data")
    monkeypatch.setenv("COURSE_DATA_HOME", "cache")
    absolutize_env()
    import os

    assert os.environ["COURSE_DATA_MIRROR"].split() == [str(tmp_path.parent / "mirror"), "https://example.org/mirror"]
    assert os.environ["COURSE_DATA_ROOT"] == str(tmp_path / "data")
    assert os.environ["COURSE_DATA_HOME"] == str(tmp_path / "cache")
