"""Write ``book/results.md`` and README's results table from the stored metrics files
(``python -m course_utils results``, by default from ``book/metrics/``).

Every number in the results page comes from a metrics file written by a real run; the page says
which profile, data and machine each came from.
"""
from __future__ import annotations

import json
from pathlib import Path

from course_utils.tools.results_table import render_sections, render_table

HEADER = """# Results

Every number below was measured by running the notebooks through the runner
(`python -m course_utils run --profile laptop --data-root <folder of datasets> --store`, which is
`make outputs`) and is read from the metrics files those runs wrote, kept in `book/metrics/`
beside the stored notebooks. The `laptop` profile uses real data but fewer and smaller images and
fewer epochs than the original tutorials, so these numbers are not the tutorials' (or the
benchmarks') numbers; each notebook says what its data was. "What this run showed" lists the
lessons each notebook checks in its own run: ✓ held, ✗ did not hold on that run.
`full`-profile numbers (the tutorials' settings, on a GPU) appear here only once measured.

"""


def _entries(metrics_dir: Path) -> list[dict]:
    from course_utils.tools.runner import toc_notebooks

    entries = []
    for stem in toc_notebooks():
        path = Path(metrics_dir) / f"{stem}.metrics.json"
        doc = json.loads(path.read_text()) if path.exists() else None
        entries.append({"notebook": stem, "status": "ok" if doc else "not run", "doc": doc, "wall_s": None})
    return entries


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def update_readme(metrics_dir: Path, readme: Path) -> str:
    """Replace the table between the results markers of README with the headline metrics each
    notebook promises (``contract.METRIC_KEYS``), read from the metrics files."""
    from course_utils.setup.contract import METRIC_KEYS

    table = render_table(_entries(metrics_dir), headline=METRIC_KEYS)
    block = f"{README_START}\n\n{table}\n{README_END}"
    text = Path(readme).read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    Path(readme).write_text(text[:start] + block + text[end:])
    return block


def write_results_page(metrics_dir: Path, dest: Path, note: str = "") -> str:
    """One section per notebook in ``_toc.yml`` order, from ``metrics_dir/<stem>.metrics.json``."""
    text = HEADER + (note + "\n\n" if note else "") + render_sections(_entries(metrics_dir))
    Path(dest).write_text(text)
    return text
