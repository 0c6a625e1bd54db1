"""``setup_notebook``: the one call after every notebook's ``parameters`` cell (taught in 00_setup).

It detects GPUs for PyTorch and TensorFlow, turns on TensorFlow memory growth, seeds Python,
NumPy, PyTorch, TensorFlow and Keras, sets plot defaults, resolves the profile, prints a short
report and returns a :class:`Run` that carries the settings, records data provenance and timings,
and writes ``<output_dir>/<notebook>.metrics.json`` at the end.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path

from . import profiles as _profiles
from .datasets import DataInfo, banner, get_dataset, get_weights
from .env import describe_machine, library_versions, seed_everything, set_plot_defaults

METRICS_SCHEMA_VERSION = 1
DEFAULT_OUTPUT_DIR = "outputs"


class Settings(dict):
    """The resolved settings: a dict whose keys also read as attributes (``cfg.epochs``)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as err:
            raise AttributeError(f"no setting {key!r}; known: {', '.join(self)}") from err


def _jsonable(value):
    """Turn NumPy scalars/arrays, paths and NaN into plain JSON values."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class Run:
    """What one execution of a notebook knows about itself."""

    def __init__(self, notebook, profile, profile_why, settings, data_source, data_dir, output_dir, seed, machine):
        self.notebook = notebook
        self.profile = profile
        self.profile_why = profile_why
        self.cfg = Settings(settings)
        self.data_source = data_source
        self.data_dir = data_dir
        self.output_dir = Path(output_dir)
        self.seed = seed
        self.machine = machine
        self.device = machine["torch_device"]
        self.data: dict[str, DataInfo] = {}
        self.timings: dict[str, float] = {}
        self.lessons: list[dict] = []
        self._t0 = time.perf_counter()
        self.output_dir.mkdir(parents=True, exist_ok=True)

    # -- data -----------------------------------------------------------------------------
    def get_data(self, name: str, data_dir=None, synthetic_size: int | None = None) -> DataInfo:
        """Resolve dataset ``name`` under this run's ``data_source``; prints where it came
        from, and a loud banner when it is the synthetic stand-in."""
        info = get_dataset(name, data_dir=data_dir, data_source=self.data_source, seed=self.seed,
                           synthetic_size=synthetic_size)
        self.data[name] = info
        if info.synthetic:
            print(banner(info))
        else:
            print(f"{info.title}: {info.source} -> {info.root}")
        return info

    def get_weights(self, name: str) -> DataInfo:
        """Resolve a weights file (``source='unavailable'`` if it cannot be had)."""
        info = get_weights(name)
        self.data[name] = info
        print(f"{info.title}: {info.source} {'-> ' + str(info.root) if info.real else '(' + info.origin + ')'}")
        return info

    def set_counts(self, name: str, **counts) -> None:
        """Record how many images each split of dataset ``name`` has (for the metrics file)."""
        self.data[name].counts = {k: int(v) if not isinstance(v, dict) else v for k, v in counts.items()}

    @property
    def synthetic(self) -> bool:
        return any(d.synthetic for d in self.data.values())

    # -- timing ---------------------------------------------------------------------------
    @contextmanager
    def timer(self, name: str):
        """``with run.timer("train"): ...`` records wall-clock seconds under ``timings``."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 3)

    def path(self, filename: str) -> Path:
        """A file inside this run's output folder (models, figures)."""
        return self.output_dir / filename

    def artifact_record(self, metrics: dict) -> dict:
        """The record :func:`course_utils.setup.artifacts.save_artifact` keeps next to a model this
        run hands on: notebook, profile, seed, the metrics that matter, and the data it read."""
        return {"notebook": self.notebook, "profile": self.profile, "seed": self.seed,
                "metrics": _jsonable(metrics), "data": {k: _jsonable(v.provenance()) for k, v in self.data.items()}}

    # -- lessons --------------------------------------------------------------------------
    def lesson(self, id: str, claim: str, holds, evidence: str) -> bool:
        """Record one lesson of this notebook as a check its own run computed.

        ``claim`` is the sentence the notebook teaches, ``holds`` the boolean the run computed,
        ``evidence`` the numbers compared (``"test 0.73 vs 0.63"``). Lessons go to the metrics
        file under ``lessons`` and are printed by :meth:`show_lessons`. A lesson with the same
        ``id`` replaces the earlier one, so re-running a cell does not duplicate it.
        """
        entry = {"id": str(id), "claim": str(claim), "holds": bool(holds), "evidence": str(evidence)}
        self.lessons = [le for le in self.lessons if le["id"] != entry["id"]] + [entry]
        return entry["holds"]

    def show_lessons(self) -> None:
        """Print "What this run showed": each lesson with ✓ (held) or ✗ (did not hold here)."""
        print(f"What this run showed ({self.profile} profile"
              + (", SYNTHETIC data" if self.synthetic else "") + "):")
        for le in self.lessons:
            print(f"  {'✓' if le['holds'] else '✗'} {le['claim']}\n      evidence: {le['evidence']}")
        if not self.lessons:
            print("  (no lessons recorded)")

    # -- metrics --------------------------------------------------------------------------
    def save_metrics(self, metrics: dict, strict: bool = True) -> Path:
        """Write ``<output_dir>/<notebook>.metrics.json`` and print the metrics.

        With ``strict``, every key the notebook's issue names (``profiles.METRIC_KEYS``) must be
        present, so a renamed metric fails here rather than in an instructor's dashboard.
        """
        expected = _profiles.METRIC_KEYS.get(self.notebook, [])
        missing = [k for k in expected if k not in metrics]
        if strict and missing:
            raise KeyError(f"{self.notebook}: metrics missing {missing}")
        self.timings["total_s"] = round(time.perf_counter() - self._t0, 3)
        doc = {
            "schema_version": METRICS_SCHEMA_VERSION,
            "notebook": self.notebook,
            "profile": self.profile,
            "profile_reason": self.profile_why,
            "seed": self.seed,
            "data_source": self.data_source,
            "settings": dict(self.cfg),
            "data": {k: v.provenance() for k, v in self.data.items()},
            "synthetic": self.synthetic,
            "metrics": metrics,
            "lessons": self.lessons,
            "timings": self.timings,
            "environment": {"device": self.device, "machine": self.machine, "versions": library_versions()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        path = self.output_dir / f"{self.notebook}.metrics.json"
        path.write_text(json.dumps(_jsonable(doc), indent=1))
        print(f"Metrics written to {path}" + ("  [SYNTHETIC DATA]" if self.synthetic else ""))
        for k in expected or metrics:
            v = metrics.get(k)
            print(f"  {k:32s} {round(v, 4) if isinstance(v, float) else v}")
        return path


def _report(run: Run) -> str:
    m = run.machine
    t, f = m["torch"], m["tensorflow"]

    def fw(name, d):
        if not d["installed"]:
            return f"{name}: not installed"
        gpus = ", ".join(f"{n} ({g} GB)" if g else n for n, g in
                         zip(d["names"], d["memory_gb"] + [None] * len(d["names"])))
        return f"{name} {d['version']}: {d['backend'].upper()}" + (f" x{d['count']} [{gpus}]" if d["count"] else "")

    lines = [f"{run.notebook} | profile {run.profile} ({run.profile_why}) | seed {run.seed} | "
             f"data_source {run.data_source}",
             "  " + fw("PyTorch", t) + " | " + fw("TensorFlow", f) + f" | CPU cores {m['cpu_count']}",
             f"  PyTorch device: {run.device} | outputs -> {run.output_dir}",
             "  settings: " + ", ".join(f"{k}={v}" for k, v in run.cfg.items())]
    return "\n".join(lines)


def setup_notebook(notebook: str, profile: str = "auto", data_source: str = "auto", data_dir=None,
                   output_dir: str = DEFAULT_OUTPUT_DIR, seed: int = 42, verbose: bool = True, **knobs) -> Run:
    """Prepare a notebook run. ``knobs`` are the notebook's own parameters; ``None`` means "take
    the value from the profile table", anything else overrides it.

    ``$COURSE_OUTPUT_DIR`` replaces ``output_dir`` only while it has its default value
    ``"outputs"``, so test harnesses can collect metrics without editing notebooks.
    """
    if output_dir == DEFAULT_OUTPUT_DIR and os.environ.get("COURSE_OUTPUT_DIR"):
        output_dir = os.environ["COURSE_OUTPUT_DIR"]
    if data_source == "auto" and os.environ.get("COURSE_DATA_SOURCE"):
        data_source = os.environ["COURSE_DATA_SOURCE"]
    machine = describe_machine(memory_growth=True)
    name, why = _profiles.resolve_profile_name(profile, machine["has_gpu"])
    settings = _profiles.settings_for(notebook, name, knobs)
    seed_everything(int(seed), deterministic=bool(settings.get("deterministic", True)))
    set_plot_defaults()
    run = Run(notebook, name, why, settings, data_source, data_dir, output_dir, int(seed), machine)
    if verbose:
        print(_report(run))
    return run
