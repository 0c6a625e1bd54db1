"""The runner goes on past failures and reports; the CLI answers."""

import pytest

from course_utils.tools.cli import main


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
    from course_utils.tools.runner import resolve_notebook

    with pytest.raises(FileNotFoundError, match="no single notebook"):
        resolve_notebook("99_nothing")
    assert resolve_notebook("00").stem == "00_setup"


def test_relative_data_folders_keep_their_meaning_inside_kernels(monkeypatch, tmp_path):
    import os

    from course_utils.setup.config import absolutize_env, mirrors

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join(["../mirror", "https://example.org/mirror"]))
    monkeypatch.setenv("COURSE_DATA_ROOT", "data")
    monkeypatch.setenv("COURSE_DATA_HOME", "cache")
    absolutize_env()

    assert mirrors() == [str(tmp_path.parent / "mirror"), "https://example.org/mirror"]
    assert os.environ["COURSE_DATA_ROOT"] == str(tmp_path / "data")
    assert os.environ["COURSE_DATA_HOME"] == str(tmp_path / "cache")
