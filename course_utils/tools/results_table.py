"""The one renderer of results: metrics files as Markdown.

Used by the runner's table (``python -m course_utils run``), the results page
(``book/results.md``) and README's results table, so the three always show a number the same way.
An *entry* is one notebook: ``{"notebook", "status", "doc", "wall_s"}`` where ``doc`` is the
parsed ``<notebook>.metrics.json`` (``None`` when the notebook did not run or failed).
"""
from __future__ import annotations

import json


def format_value(value) -> str:
    """A metric as short text: floats to 4 significant digits, long lists cut at 40 characters."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        text = json.dumps(_rounded(value))
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, dict):
        return format_value(json.dumps(value))
    return str(value)


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def markdown_text(text: str) -> str:
    """Plain text safe inside Markdown (and a table cell): ``*`` and ``|`` escaped."""
    return str(text).replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|")


def data_cell(doc: dict | None) -> str:
    """Each dataset the run read: name, where it came from (SYNTHETIC when a stand-in), counts."""
    parts = []
    for d in ((doc or {}).get("data") or {}).values():
        counts = ", ".join(f"{k} {v}" for k, v in (d.get("counts") or {}).items())
        tag = "SYNTHETIC" if d.get("synthetic") else d.get("source", "?")
        parts.append(f"{d['dataset']} ({tag}{': ' + counts if counts else ''})")
    return "; ".join(parts) or "-"


def machine_cell(doc: dict | None) -> str:
    """The GPU the run used, or ``CPU, N cores``."""
    mach = ((doc or {}).get("environment") or {}).get("machine") or {}
    gpus = (mach.get("torch") or {}).get("names") or (mach.get("tensorflow") or {}).get("names") or []
    return gpus[0] if gpus else f"CPU, {mach.get('cpu_count', '?')} cores"


def wall_cell(entry: dict) -> str:
    """The runner's wall-clock time when known (kernel start and imports included), else the
    notebook's own from ``setup_notebook`` to ``save_metrics``."""
    timings = (entry.get("doc") or {}).get("timings") or {}
    seconds = entry.get("wall_s") or timings.get("runner_wall_s") or timings.get("total_s")
    return f"{seconds:.0f} s" if seconds else "-"


def lessons_cell(doc: dict | None) -> str:
    """``3/3 ✓`` (lessons that held out of those recorded), or ``-``."""
    lessons = (doc or {}).get("lessons") or []
    if not lessons:
        return "-"
    held = sum(1 for le in lessons if le.get("holds"))
    return f"{held}/{len(lessons)} {'✓' if held == len(lessons) else '✗'}"


def _metric_items(doc: dict, keys: list[str] | None):
    metrics = doc.get("metrics") or {}
    names = keys if keys is not None else list(metrics)
    return [(k, metrics.get(k)) for k in names if not isinstance(metrics.get(k), dict)]


def render_table(entries: list[dict], headline: dict[str, list[str]] | None = None, joiner: str = ", ") -> str:
    """One row per notebook: status, profile, data, metrics, lessons, wall time, machine.

    ``headline`` maps a notebook to the metric keys to show (all metrics when ``None``).
    """
    lines = ["| notebook | status | profile | data | metrics | lessons | wall time | machine |",
             "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        doc = e.get("doc")
        if not doc:
            lines.append(f"| {e['notebook']} | {e.get('status', 'not run')} | - | - | - | - | {wall_cell(e)} | - |")
            continue
        keys = None if headline is None else headline.get(e["notebook"], [])[:5]
        metrics = joiner.join(f"{k}={markdown_text(format_value(v))}" for k, v in _metric_items(doc, keys)) or "-"
        lines.append(f"| {e['notebook']} | {e.get('status', 'ok')} | {doc.get('profile', '-')} | {data_cell(doc)} | "
                     f"{metrics} | {lessons_cell(doc)} | {wall_cell(e)} | {machine_cell(doc)} |")
    return "\n".join(lines) + "\n"


def render_sections(entries: list[dict]) -> str:
    """One section per notebook (fits a narrow page): a line of provenance, a two-column table
    of every metric, and the lessons with ✓/✗ and their evidence."""
    out = []
    for e in entries:
        out.append(f"## {e['notebook']}\n")
        doc = e.get("doc")
        if not doc:
            out.append(f"{e.get('status', 'not run')}.\n")
            continue
        out.append(f"**profile** {doc.get('profile', '-')} · **wall time** {wall_cell(e)} · "
                   f"**machine** {machine_cell(doc)}  \n**data** {data_cell(doc)}\n")
        items = _metric_items(doc, None)
        if items:
            out.append("| metric | value |\n|---|---|")
            out.append("\n".join(f"| `{k}` | {markdown_text(format_value(v))} |" for k, v in items) + "\n")
        lessons = doc.get("lessons") or []
        if lessons:
            out.append("What this run showed:\n")
            out.append("\n".join(f"- {'✓' if le.get('holds') else '✗'} {markdown_text(le['claim'])} "
                                 f"({markdown_text(le['evidence'])})"
                                 for le in lessons) + "\n")
    return "\n".join(out)
