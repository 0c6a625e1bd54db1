"""The book builds from the stored outputs, with warnings as errors."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    jb = Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        jb = shutil.which("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(tmp_path), "--warningiserror",
                           "--nitpick", "--keep-going"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    for stem in ("00_setup", "06_mnist_cnn_pytorch", "12_class_activation_maps"):
        assert (html / "notebooks" / f"{stem}.html").exists(), stem
