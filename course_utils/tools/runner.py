"""Execute notebooks with papermill and collect their metrics into one results table.

``python -m course_utils run [NOTEBOOK ...] --profile P --data-source S --output-dir D [-p NAME VALUE ...]``

Executed copies go to ``D/executed/``; every notebook writes ``D/<stem>.metrics.json``; the
runner goes on past a failing notebook, writes ``D/results.json`` and ``D/results.md`` and exits
non-zero at the end if any failed. ``--store`` also writes each executed notebook back into
``notebooks/`` (without papermill's injected-parameters cell, progress bars in their final state),
which is how the outputs shown on GitHub and in the book are produced, and its metrics file to
``book/metrics/`` (from which the results page and README's table are generated).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import yaml

from course_utils.setup.config import REPO_ROOT, absolutize_env

NOTEBOOK_DIR = (REPO_ROOT or Path.cwd()) / "notebooks"


def toc_notebooks(toc: Path | None = None) -> list[str]:
    """Notebook stems in ``_toc.yml`` order."""
    toc = toc or (REPO_ROOT or Path.cwd()) / "_toc.yml"
    data = yaml.safe_load(toc.read_text())
    stems = []

    def walk(node):
        if isinstance(node, dict):
            f = node.get("file") or node.get("root")
            if f and str(f).startswith("notebooks/"):
                stems.append(Path(f).stem)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return stems


def resolve_notebook(name: str) -> Path:
    """Accept ``06``, ``06_mnist_cnn_pytorch``, ``06_mnist_cnn_pytorch.ipynb`` or a path."""
    p = Path(name)
    if p.suffix == ".ipynb" and p.exists():
        return p.resolve()
    matches = sorted(NOTEBOOK_DIR.glob(f"{p.stem}*.ipynb"))
    exact = [m for m in matches if m.stem == p.stem]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    raise FileNotFoundError(f"no single notebook matches {name!r} in {NOTEBOOK_DIR}"
                            + (f" (candidates: {[m.name for m in matches]})" if matches else ""))


def _strip_papermill(nb_path: Path, dest: Path) -> None:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for c in nb.cells:
        c.metadata.pop("papermill", None)
        c.metadata.pop("execution", None)
        if c.metadata.get("tags") == []:  # papermill adds empty tags; jupytext --sync would drop them
            c.metadata.pop("tags")
        if c.get("outputs"):
            c.outputs = _merged_streams(c.outputs)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, dest)


def results_markdown(rows: list[dict]) -> str:
    """The runner's table: one row per notebook, every metric (see :mod:`course_utils.tools.results_table`)."""
    from course_utils.tools.results_table import render_table

    return render_table([{**r, "doc": r.get("metrics_doc")} for r in rows])


def _final_state(text: str) -> str:
    """Text as a terminal would show it: a line rewritten with carriage returns (a progress bar)
    keeps only its last non-blank version."""
    lines = []
    for line in text.split("\n"):
        versions = line.split("\r")
        lines.append(next((v for v in reversed(versions) if v.strip()), versions[-1]))
    return "\n".join(lines)


def _merged_streams(outputs: list) -> list:
    """Consecutive stdout (or stderr) outputs joined into one, in its final state: a progress bar
    arrives as dozens of carriage-return fragments and is stored as the line it ended on."""
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = _short_library_paths(_final_state(out["text"]))
    return merged


def _short_library_paths(text: str) -> str:
    """A warning's ``/any/prefix/lib/python3.X/site-packages/keras/...`` as ``.../site-packages/keras/...``:
    where the machine that ran the notebook installed its libraries is no business of the reader's."""
    import re

    return re.sub(r"(?<![\w.])/[^\s:'\"]*/site-packages/", ".../site-packages/", text)


def _portable(value):
    """A metrics document with this machine's absolute paths shortened (``config.display_path``)."""
    from course_utils.setup.config import display_path

    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and "\n" not in value and " " not in value:
        return display_path(value)
    return value


#: Where ``--store`` keeps the metrics behind the stored outputs (the results page reads them).
STORED_METRICS_DIR = (REPO_ROOT or Path.cwd()) / "book" / "metrics"


def store_metrics(doc: dict, dest_dir: Path = STORED_METRICS_DIR) -> Path:
    """Write a metrics document to ``book/metrics/<notebook>.metrics.json``, paths shortened."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{doc['notebook']}.metrics.json"
    path.write_text(json.dumps(_portable(doc), indent=1, ensure_ascii=False) + "\n")
    return path


def _course_error_names() -> set[str]:
    """Class names of :class:`CourseError` and its subclasses (as a kernel reports them)."""
    from course_utils.errors import CourseError

    names, todo = set(), [CourseError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def run_notebooks(notebooks: list[str] | None = None, profile: str = "auto", data_source: str = "auto",
                  output_dir: str | Path = "outputs", params: dict | None = None, store: bool = False,
                  data_root: str | None = None, timeout: int | None = None, log_output: bool = False,
                  tiny: bool = False) -> list[dict]:
    """Run notebooks; return one result row each (also written to results.json/.md).

    ``tiny`` passes ``tiny=True`` to every notebook (and sets ``$COURSE_TINY`` for its kernel):
    the profile's code paths with the amount of work cut to seconds (see ``profiles.tiny_settings``)."""
    import papermill as pm

    out = Path(output_dir).resolve()
    if data_root:
        os.environ["COURSE_DATA_ROOT"] = str(Path(data_root).resolve())
    absolutize_env()  # kernels run in notebooks/: relative folders must not change meaning
    previous_tiny = os.environ.get("COURSE_TINY")
    if tiny:
        os.environ["COURSE_TINY"] = "1"  # also reaches a notebook whose parameters cell lacks `tiny`
    stems = notebooks or toc_notebooks()
    paths = [resolve_notebook(n) for n in stems]
    # Check every notebook's parameters before starting the first kernel: a bad value fails in
    # a second with a message naming it, not minutes later inside a traceback.
    from course_utils.setup.notebook import check_parameters

    for path in paths:
        knobs = {"profile": profile, "data_source": data_source, "output_dir": str(out), **(params or {})}
        std = {k: knobs.pop(k) for k in ("profile", "data_source", "data_dir", "output_dir", "seed") if k in knobs}
        check_parameters(path.stem, knobs=knobs, create_output_dir=False, **std)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, path in enumerate(paths, start=1):
        stem = path.stem
        print(f"[{i}/{len(paths)}] {stem} (profile {profile}{', tiny' if tiny else ''}, data {data_source}) ...",
              flush=True)
        metrics_file = out / f"{stem}.metrics.json"
        if metrics_file.exists():
            metrics_file.unlink()  # never report a stale result as this run's
        parameters = {"profile": profile, "data_source": data_source, "output_dir": str(out),
                      **({"tiny": True} if tiny else {}), **(params or {})}
        t = time.perf_counter()
        row = {"notebook": stem, "profile": profile, "status": "ok", "error": None}
        try:
            pm.execute_notebook(str(path), str(out / "executed" / path.name), parameters=parameters,
                                cwd=str(path.parent), kernel_name="python3", progress_bar=False,
                                log_output=log_output, execution_timeout=timeout)
        except Exception as err:
            row["status"] = "FAILED"
            if getattr(err, "ename", "") in _course_error_names():
                # A problem the learner can fix: its one-paragraph message, not a traceback.
                row["error"] = f"{err.ename}: {err.evalue}"
            else:
                row["error"] = f"{type(err).__name__}: {str(err)[-2000:]}"
        row["wall_s"] = round(time.perf_counter() - t, 1)
        if row["status"] == "ok" and not metrics_file.exists():
            row["status"], row["error"] = "FAILED", f"{metrics_file.name} was not written"
        row["metrics_doc"] = json.loads(metrics_file.read_text()) if metrics_file.exists() else None
        if store and row["status"] == "ok":
            _strip_papermill(out / "executed" / path.name, path)
            if row["metrics_doc"] and "notebook" in row["metrics_doc"]:
                doc = {**row["metrics_doc"]}
                doc["timings"] = {**(doc.get("timings") or {}), "runner_wall_s": row["wall_s"]}
                store_metrics(doc)
        print(f"    {row['status']} in {row['wall_s']:.1f} s"
              + (f"\n    {row['error'][-600:]}" if row["error"] else ""), flush=True)
        rows.append(row)
    if tiny:  # the kernels are gone: leave the caller's environment as it was
        os.environ.pop("COURSE_TINY", None) if previous_tiny is None else os.environ.update(COURSE_TINY=previous_tiny)
    (out / "results.json").write_text(json.dumps(rows, indent=1, default=str))
    md = results_markdown(rows)
    (out / "results.md").write_text(md)
    print("\n" + md)
    return rows
