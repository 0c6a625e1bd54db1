"""Execute notebooks with papermill and collect their metrics into one results table.

``python -m course_utils run [NOTEBOOK ...] --profile P --data-source S --output-dir D [-p NAME VALUE ...]``

Executed copies go to ``D/executed/``; every notebook writes ``D/<stem>.metrics.json``; the
runner goes on past a failing notebook, writes ``D/results.json`` and ``D/results.md`` and exits
non-zero at the end if any failed. ``--store`` also writes each executed notebook back into
``notebooks/`` (without papermill's injected-parameters cell), which is how the outputs shown on
GitHub and in the book are produced.
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
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, dest)


def _round(v):
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def _fmt(v) -> str:
    """A metric as short text: 4 significant digits, long lists cut."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        s = json.dumps(_round(v))
        return s if len(s) <= 40 else s[:37] + "..."
    return str(v)


def results_markdown(rows: list[dict]) -> str:
    lines = ["| notebook | status | profile | data (source: images) | key metrics | wall s | device |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r.get("metrics_doc") or {}
        data = "; ".join(f"{d['dataset']} ({d['source']}{', SYNTHETIC' if d.get('synthetic') else ''}: "
                         + ", ".join(f"{k} {v}" for k, v in (d.get("counts") or {}).items()) + ")"
                         for d in (m.get("data") or {}).values()) or "-"
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in (m.get("metrics") or {}).items())
        dev = (m.get("environment") or {}).get("device", "-")
        gpu = ((m.get("environment") or {}).get("machine") or {}).get("torch", {}).get("names") or []
        lines.append(f"| {r['notebook']} | {r['status']} | {m.get('profile', r.get('profile', '-'))} | {data} | "
                     f"{metrics or '-'} | {r['wall_s']:.0f} | {dev}{' ' + gpu[0] if gpu else ''} |")
    return "\n".join(lines) + "\n"


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
        error = f"\n    {row['error'][-600:]}" if row["error"] else ""
        print(f"    {row['status']} in {row['wall_s']:.1f} s" + error, flush=True)
        rows.append(row)
    if tiny:  # the kernels are gone: leave the caller's environment as it was
        os.environ.pop("COURSE_TINY", None) if previous_tiny is None else os.environ.update(COURSE_TINY=previous_tiny)
    (out / "results.json").write_text(json.dumps(rows, indent=1, default=str))
    md = results_markdown(rows)
    (out / "results.md").write_text(md)
    print("\n" + md)
    return rows
