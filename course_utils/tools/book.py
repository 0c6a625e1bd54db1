"""The Jupyter Book of one run: ``python -m course_utils book --from-run OUT`` (``make book-from-run``).

``make book`` renders the outputs stored in ``notebooks/`` (a ``laptop`` run, what GitHub shows).
This builds a copy of the book's sources in a temporary folder where every notebook the run in
``OUT`` executed (``OUT/executed/*.ipynb``) replaces the stored one, and the results page is
that run's table, so the book shows this run's outputs. The stored notebooks are only read.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_utils.setup.config import REPO_ROOT


def book_tree_from_run(run_dir, dest=None, repo: Path | None = None) -> tuple[Path, list[str], list[str]]:
    """Write the book sources for the run in ``run_dir`` into ``dest`` (a new temporary folder by
    default). Returns ``(dest, notebooks from the run, notebooks with stored outputs)``."""
    from course_utils.tools.runner import _strip_papermill, toc_notebooks

    repo = Path(repo or REPO_ROOT or Path.cwd())
    run_dir = Path(run_dir).resolve()
    executed = run_dir / "executed"
    if not executed.is_dir():
        raise FileNotFoundError(f"{executed} does not exist: run the notebooks first, e.g. "
                                f"`python -m course_utils run --output-dir {run_dir}` (or `make run OUT=...`).")
    dest = Path(dest) if dest else Path(tempfile.mkdtemp(prefix="course-book-"))
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: give a new folder (nothing is overwritten).")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(repo / name, dest / name)
    shutil.copytree(repo / "book", dest / "book")
    (dest / "notebooks").mkdir()
    from_run, stored = [], []
    for stem in toc_notebooks(repo / "_toc.yml"):
        ran = executed / f"{stem}.ipynb"
        if ran.exists():
            _strip_papermill(ran, dest / "notebooks" / f"{stem}.ipynb")
            from_run.append(stem)
        else:
            shutil.copy2(repo / "notebooks" / f"{stem}.ipynb", dest / "notebooks" / f"{stem}.ipynb")
            stored.append(stem)
    note = (f"\n\n```{{note}}\nThis build shows the outputs of the run in `{run_dir}`: "
            f"{', '.join(from_run) or 'no notebook'}."
            + (f" The other notebooks ({', '.join(stored)}) show the outputs stored in the repository."
               if stored else "") + "\n```\n")
    intro = dest / "book" / "intro.md"
    intro.write_text(intro.read_text() + note)
    results = run_dir / "results.md"
    if results.exists():
        (dest / "book" / "results.md").write_text(
            "# Results of this run\n\nRead from the metrics files the run in "
            f"`{run_dir}` wrote (`results.md`); profile, data and machine per row.\n\n" + results.read_text())
    return dest, from_run, stored
