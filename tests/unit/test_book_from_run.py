"""The book of a run uses the run's executed notebooks and never touches the stored ones."""
import hashlib
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.book import book_tree_from_run
from course_utils.tools.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _digest():
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (ROOT / "notebooks").glob("*.ipynb")}


def test_book_tree_from_run(tmp_path):
    run = tmp_path / "run"
    (run / "executed").mkdir(parents=True)
    nb = nbformat.read(ROOT / "notebooks" / "06_mnist_cnn_pytorch.ipynb", as_version=4)
    injected = nbformat.v4.new_code_cell("profile = 'smoke'")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(0, injected)
    nb.cells.append(nbformat.v4.new_markdown_cell("MARKER OF THIS RUN"))
    nbformat.write(nb, run / "executed" / "06_mnist_cnn_pytorch.ipynb")
    (run / "results.md").write_text("| notebook | status |\n|---|---|\n| 06_mnist_cnn_pytorch | ok |\n")
    before = _digest()
    dest, from_run, stored = book_tree_from_run(run, tmp_path / "book")
    assert _digest() == before
    assert from_run == ["06_mnist_cnn_pytorch"] and "00_setup" in stored
    built = nbformat.read(dest / "notebooks" / "06_mnist_cnn_pytorch.ipynb", as_version=4)
    assert built.cells[-1].source == "MARKER OF THIS RUN"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in built.cells)
    assert (dest / "notebooks" / "00_setup.ipynb").read_bytes() == (ROOT / "notebooks" / "00_setup.ipynb").read_bytes()
    assert "Results of this run" in (dest / "book" / "results.md").read_text()
    assert "06_mnist_cnn_pytorch" in (dest / "book" / "intro.md").read_text()
    assert (dest / "_toc.yml").exists() and (dest / "_config.yml").exists()
    with pytest.raises(FileExistsError):
        book_tree_from_run(run, dest)


def test_book_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["book", "--from-run", str(tmp_path / "nothing")]) == 2
    assert "run the notebooks first" in capsys.readouterr().err
