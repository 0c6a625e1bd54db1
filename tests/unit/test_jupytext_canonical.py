"""The stored jupytext pairs are canonical: ``jupytext --sync`` on a clean copy changes nothing."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sync_changes_nothing(tmp_path):
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns("outputs", ".ipynb_checkpoints", "__pycache__"))
    files = sorted(p for p in (tmp_path / "notebooks").iterdir() if p.suffix in (".ipynb", ".py"))
    before = {p.name: p.read_bytes() for p in files}
    jupytext = Path(sys.executable).with_name("jupytext")
    cmd = [str(jupytext)] if jupytext.exists() else [sys.executable, "-m", "jupytext"]
    proc = subprocess.run(cmd + ["--sync", *[str(p) for p in files if p.suffix == ".ipynb"]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    changed = [p.name for p in files if p.read_bytes() != before[p.name]]
    assert changed == [], f"jupytext --sync rewrote {changed}; run `make sync` and commit"
