"""Write ``book/results.md`` from the runner's ``results.json`` (``python -m course_utils results``).

Every number in the results page comes from a metrics file written by a real run; the page says
which profile, data and machine each came from.
"""
from __future__ import annotations

import json
from pathlib import Path

from course_utils.tools.runner import _fmt

HEADER = """# Results

Every number below was measured by running the notebooks through the runner
(`python -m course_utils run --profile laptop --data-root <folder of datasets> --store`) and is
read from the metrics files those runs wrote. The `laptop` profile uses real data but fewer and
smaller images and fewer epochs than the original tutorials, so these numbers are not the
tutorials' (or the benchmarks') numbers; each notebook says what its data was.
`full`-profile numbers (the tutorials' settings, on a GPU) appear here only once measured.

"""


def _data_cell(doc: dict) -> str:
    parts = []
    for d in (doc.get("data") or {}).values():
        counts = ", ".join(f"{k} {v}" for k, v in (d.get("counts") or {}).items())
        tag = "SYNTHETIC" if d.get("synthetic") else d.get("source", "?")
        parts.append(f"{d['dataset']} ({tag}{': ' + counts if counts else ''})")
    return "; ".join(parts) or "-"


def _machine(doc: dict) -> str:
    env = doc.get("environment") or {}
    mach = env.get("machine") or {}
    gpus = (mach.get("torch") or {}).get("names") or (mach.get("tensorflow") or {}).get("names") or []
    return (gpus[0] if gpus else f"CPU, {mach.get('cpu_count', '?')} cores")


def _rows(metrics_dir: Path) -> list[dict]:
    from course_utils.tools.runner import toc_notebooks

    rows = []
    for stem in toc_notebooks():
        path = Path(metrics_dir) / f"{stem}.metrics.json"
        doc = json.loads(path.read_text()) if path.exists() else None
        rows.append({"notebook": stem, "status": "ok" if doc else "not run", "metrics_doc": doc, "wall_s": 0})
    return rows


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def update_readme(metrics_dir: Path, readme: Path, headline: int = 5) -> str:
    """Replace the table between the results markers of README with the first ``headline``
    metrics each notebook promises (``contract.METRIC_KEYS``), read from the metrics files."""
    from course_utils.setup.contract import METRIC_KEYS

    lines = [README_START, "", "| notebook | profile | data | headline metrics | time |", "|---|---|---|---|---|"]
    for r in _rows(metrics_dir):
        doc = r["metrics_doc"]
        if not doc:
            lines.append(f"| {r['notebook']} | not run | - | - | - |")
            continue
        keys = [k for k in METRIC_KEYS.get(r["notebook"], []) if not isinstance(doc["metrics"].get(k), dict)][:headline]
        metrics = ", ".join(f"{k} {_fmt(doc['metrics'].get(k))}" for k in keys)
        lines.append(f"| {r['notebook']} | {doc['profile']} | {_data_cell(doc)} | {metrics} | "
                     f"{doc['timings'].get('total_s', 0):.0f} s |")
    lines += ["", README_END]
    text = Path(readme).read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    Path(readme).write_text(text[:start] + "\n".join(lines) + text[end:])
    return "\n".join(lines)


def write_results_page(metrics_dir: Path, dest: Path, note: str = "") -> str:
    """One row per notebook in ``_toc.yml`` order, from ``metrics_dir/<stem>.metrics.json``."""
    rows = _rows(metrics_dir)
    lines = [HEADER + (note + "\n\n" if note else ""),
             "| notebook | profile | data (source: images) | metrics | wall time | machine |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        doc = r.get("metrics_doc") or {}
        if r["status"] != "ok":
            lines.append(f"| {r['notebook']} | {r['status']} | - | - | - | - |")
            continue
        metrics = "<br>".join(f"`{k}` = {_fmt(v)}" for k, v in doc["metrics"].items()
                              if not isinstance(v, (dict,)))
        lines.append(f"| {r['notebook']} | {doc['profile']} | {_data_cell(doc)} | {metrics} | "
                     f"{doc['timings'].get('total_s', r['wall_s']):.0f} s | {_machine(doc)} |")
    text = "\n".join(lines) + "\n"
    Path(dest).write_text(text)
    return text
