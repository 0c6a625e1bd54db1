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

from course_utils.data.datasets import DATA_SOURCES, DataInfo, banner, get_dataset, get_weights
from course_utils.errors import CourseError
from course_utils.setup import profiles as _profiles
from course_utils.setup.config import display_path
from course_utils.setup.contract import METRIC_KEYS
from course_utils.setup.env import (
    describe_machine,
    library_versions,
    seed_everything,
    set_plot_defaults,
)

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

    def __init__(self, notebook, profile, profile_why, settings, data_source, data_dir, output_dir, seed, machine,
                 tiny: bool = False):
        self.notebook = notebook
        self.tiny = bool(tiny)
        self.stand_ins: list[dict] = []
        self.profile = profile
        self.profile_why = profile_why
        self.cfg = Settings(settings)
        self.data_source = data_source
        self.data_dir = data_dir
        self.output_dir = Path(output_dir)
        self.seed = seed
        self.machine = machine
        self.device = machine["torch_device"]
        self.provenance: dict[str, DataInfo] = {}   # where each dataset and weights file came from
        self.timings: dict[str, float] = {}
        self.lessons: list[dict] = []
        self._t0 = time.perf_counter()
        self.output_dir.mkdir(parents=True, exist_ok=True)

    # -- data -----------------------------------------------------------------------------
    def record(self, *infos: DataInfo) -> None:
        """Record where datasets or weights came from (the metrics file's ``data``) and say it:
        one line each, and a loud banner for a synthetic stand-in. Helpers return a
        :class:`DataInfo`; this is the one place that records and prints it."""
        for info in infos:
            self.provenance[info.name] = info
            if info.synthetic:
                print(banner(info))
                if self.data_source != "synthetic":  # asked for real data: the stand-in is flagged
                    self.stand_ins.append({"what": f"synthetic {info.name}", "instead_of": info.title,
                                           "why": (info.origin or "no real copy could be had")[:300]})
            elif info.real:
                print(f"{info.title}: {info.source} -> {display_path(info.root)}")
            else:
                print(f"{info.title}: {info.source} ({info.origin})")

    def get_data(self, name: str, data_dir=None, synthetic_size: int | None = None) -> DataInfo:
        """Resolve dataset ``name`` under this run's ``data_source`` and record it."""
        info = get_dataset(name, data_dir=data_dir, data_source=self.data_source, seed=self.seed,
                           synthetic_size=synthetic_size)
        self.record(info)
        return info

    def get_weights(self, name: str) -> DataInfo:
        """Resolve a weights file (``source='unavailable'`` if it cannot be had) and record it."""
        info = get_weights(name)
        self.record(info)
        return info

    def stand_in(self, what: str, instead_of: str, why: str) -> None:
        """Record (and print loudly) that ``what`` replaces ``instead_of`` in this run, because
        ``why``: random weights for a backbone whose weights cannot be had, a synthetic dataset.
        Stand-ins go to the metrics file under ``stand_ins``; numbers they produce mean nothing."""
        entry = {"what": str(what), "instead_of": str(instead_of), "why": str(why)}
        if entry not in self.stand_ins:
            self.stand_ins.append(entry)
        bar = "!" * 78
        print(f"{bar}\nSTAND-IN: {what} instead of {instead_of}\n  because: {why}\n"
              f"  The code path is the real one; the numbers it produces say nothing about the task.\n{bar}")

    def set_counts(self, name: str, **counts) -> None:
        """Record how many images each split of dataset ``name`` has (for the metrics file)."""
        self.provenance[name].counts = {k: int(v) if not isinstance(v, dict) else v for k, v in counts.items()}

    @property
    def synthetic(self) -> bool:
        return any(d.synthetic for d in self.provenance.values())

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

    def artifact_record(self, metrics: dict, data=None) -> dict:
        """The record :func:`course_utils.setup.artifacts.save_artifact` keeps next to a model this
        run hands on: notebook, profile, seed, the metrics that matter, and the data it read.

        ``data``: the names of the datasets (and weights) this model was made from, for a notebook
        that reads several (a PyTorch model trained on ants and bees must not be said to come from
        cats and dogs too); ``None`` keeps everything the run read."""
        unknown = sorted(set(data or ()) - set(self.provenance))
        if unknown:
            raise ValueError(f"artifact_record: {unknown} not read by this run (it read {sorted(self.provenance)})")
        return {"notebook": self.notebook, "profile": self.profile, "seed": self.seed,
                "metrics": _jsonable(metrics),
                "data": {k: _jsonable(v.provenance()) for k, v in self.provenance.items()
                         if data is None or k in data}}

    # -- lessons --------------------------------------------------------------------------
    def lesson(self, id: str, claim: str, holds, evidence: str) -> None:
        """Record one lesson of this notebook as a check its own run computed.

        ``claim`` is the sentence the notebook teaches, ``holds`` the boolean the run computed,
        ``evidence`` the numbers compared (``"test 0.73 vs 0.63"``). Lessons go to the metrics
        file under ``lessons`` and are printed by :meth:`show_lessons`. A lesson with the same
        ``id`` replaces the earlier one, so re-running a cell does not duplicate it.
        """
        entry = {"id": str(id), "claim": str(claim), "holds": bool(holds), "evidence": str(evidence)}
        self.lessons = [le for le in self.lessons if le["id"] != entry["id"]] + [entry]
        # returns nothing: a cell ending in run.lesson(...) would otherwise store a bare "True"

    def show_lessons(self) -> None:
        """Print "What this run showed": each lesson with ✓ (held) or ✗ (did not hold here)."""
        print(f"What this run showed ({self.profile} profile"
              + (", SYNTHETIC data" if self.synthetic else "") + "):")
        for le in self.lessons:
            print(f"  {'✓' if le['holds'] else '✗'} {le['claim']}\n      evidence: {le['evidence']}")
        if not self.lessons:
            print("  (no lessons recorded)")

    # -- metrics --------------------------------------------------------------------------
    def save_metrics(self, metrics: dict, strict: bool = True) -> None:
        """Write ``<output_dir>/<notebook>.metrics.json`` and print the metrics (the file is
        :meth:`metrics_path`).

        With ``strict``, every key the notebook's issue names (:data:`course_utils.setup.contract.METRIC_KEYS`) must be
        present, so a renamed metric fails here rather than in an instructor's dashboard.
        """
        expected = METRIC_KEYS.get(self.notebook, [])
        missing = [k for k in expected if k not in metrics]
        if strict and missing:
            raise KeyError(f"{self.notebook}: metrics missing {missing}")
        self.timings["total_s"] = round(time.perf_counter() - self._t0, 3)
        doc = {
            "schema_version": METRICS_SCHEMA_VERSION,
            "notebook": self.notebook,
            "profile": self.profile,
            "profile_reason": self.profile_why,
            "tiny": self.tiny,
            "seed": self.seed,
            "data_source": self.data_source,
            "settings": dict(self.cfg),
            "data": {k: v.provenance() for k, v in self.provenance.items()},
            "synthetic": self.synthetic,
            "stand_ins": self.stand_ins,
            "metrics": metrics,
            "lessons": self.lessons,
            "timings": self.timings,
            "environment": {"device": self.device, "machine": self.machine, "versions": library_versions()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        path = self.metrics_path()
        path.write_text(json.dumps(_jsonable(doc), indent=1))
        print(f"Metrics written to {path.name} in {display_path(self.output_dir)}"
              + ("  [SYNTHETIC DATA]" if self.synthetic else "") + ("  [TINY RUN]" if self.tiny else "")
              + (f"  [{len(self.stand_ins)} STAND-IN(S)]" if self.stand_ins else ""))
        from course_utils.tools.results_table import format_value

        for k in expected or metrics:
            print(f"  {k:32s} {format_value(metrics.get(k))}")

    def metrics_path(self) -> Path:
        """``<output_dir>/<notebook>.metrics.json``."""
        return self.output_dir / f"{self.notebook}.metrics.json"


def _report(run: Run) -> str:
    m = run.machine
    t, f = m["torch"], m["tensorflow"]

    def fw(name, d):
        if not d["installed"]:
            return f"{name}: not installed"
        gpus = ", ".join(f"{n} ({g} GB)" if g else n for n, g in
                         zip(d["names"], d["memory_gb"] + [None] * len(d["names"])))
        return f"{name} {d['version']}: {d['backend'].upper()}" + (f" x{d['count']} [{gpus}]" if d["count"] else "")

    lines = [f"{run.notebook} | profile {run.profile} ({run.profile_why})" + (" TINY" if run.tiny else "")
             + f" | seed {run.seed} | "
             f"data_source {run.data_source}",
             "  " + fw("PyTorch", t) + " | " + fw("TensorFlow", f) + f" | CPU cores {m['cpu_count']}",
             f"  PyTorch device: {run.device} | outputs -> {display_path(run.output_dir)}",
             "  settings: " + ", ".join(f"{k}={v}" for k, v in run.cfg.items())]
    return "\n".join(lines)


def check_parameters(notebook: str, profile="auto", data_source="auto", data_dir=None,
                     output_dir=DEFAULT_OUTPUT_DIR, seed=42, knobs: dict | None = None,
                     create_output_dir: bool = True) -> None:
    """Check a notebook's parameters before any work starts; raise a :class:`CourseError` that
    names the first bad setting and what to do. Used by :func:`setup_notebook` and by the runner
    (which checks every notebook's parameters before starting the first one)."""
    _profiles.check_profile_name(profile)
    if data_source not in DATA_SOURCES:
        raise CourseError(f"data_source={data_source!r} is not a data source.", setting="data_source",
                          fix=f"use one of {', '.join(DATA_SOURCES)} (see 00_setup).")
    if not _profiles._is_int(seed):
        raise _profiles.SettingError(f"seed={seed!r} ({type(seed).__name__}) is not a whole number.", setting="seed",
                                     fix="set seed to a whole number such as 42 (a fraction is not rounded "
                                         "for you: another seed is another run).")
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)) or not Path(data_dir).expanduser().is_dir():
            raise CourseError(f"data_dir={str(data_dir)!r} is not a folder.", setting="data_dir",
                              fix="pass the folder that holds the data (see the notebook's data section), "
                                  "or None to let the course find or fetch it.")
    if not isinstance(output_dir, (str, os.PathLike)) or not str(output_dir):
        raise CourseError(f"output_dir={output_dir!r} is not a folder name.", setting="output_dir",
                          fix="set output_dir to a folder name such as 'outputs'.")
    out = Path(output_dir).expanduser()
    bad = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if bad is not None:
        raise CourseError(f"output_dir={str(output_dir)!r} cannot be a folder: {bad} is a file.",
                          setting="output_dir", fix="choose another output_dir, or move that file away.")
    if create_output_dir:
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / f".course-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise CourseError(f"output_dir={str(output_dir)!r} cannot be written ({err.strerror or err}).",
                              setting="output_dir", fix="choose a folder you can write.") from None
    _profiles.check_knobs(notebook, knobs)


def setup_notebook(notebook: str, profile: str = "auto", data_source: str = "auto", data_dir=None,
                   output_dir: str = DEFAULT_OUTPUT_DIR, seed: int = 42, verbose: bool = True,
                   tiny: bool = False, **knobs) -> Run:
    """Prepare a notebook run. ``knobs`` are the notebook's own parameters; ``None`` means "take
    the value from the profile table", anything else overrides it.

    ``tiny=True`` (or ``$COURSE_TINY=1``) keeps the profile's code paths and model choices and
    cuts data counts, epochs and image sizes to seconds (:func:`course_utils.setup.profiles.tiny_settings`);
    what cannot be had is replaced by labelled stand-ins (:meth:`Run.stand_in`).

    ``output_dir`` left at its default ``"outputs"`` becomes ``$COURSE_OUTPUT_DIR`` if set, else
    ``$COURSE_HOME/outputs`` if ``$COURSE_HOME`` is set (one folder for cache and outputs, e.g. on
    Google Drive: :func:`course_utils.use_drive`), so notebooks that hand models to each other
    (09 and 11 to 12) find them there, and test harnesses collect metrics without editing notebooks.
    """
    from course_utils.setup.env import load_frameworks_in_safe_order

    load_frameworks_in_safe_order()  # PyTorch before TensorFlow, also outside a kernel
    if output_dir == DEFAULT_OUTPUT_DIR:
        from course_utils.setup.config import default_output_dir

        output_dir = default_output_dir() or output_dir
    tiny = bool(tiny) or os.environ.get("COURSE_TINY", "").strip().lower() in ("1", "true", "yes")
    if data_source == "auto" and os.environ.get("COURSE_DATA_SOURCE"):
        data_source = os.environ["COURSE_DATA_SOURCE"]
    # Every setting is checked first, so a typo costs seconds, not a training run.
    check_parameters(notebook, profile, data_source, data_dir, output_dir, seed, knobs)
    machine = describe_machine(memory_growth=True)
    name, why = _profiles.resolve_profile_name(profile, machine["has_gpu"])
    settings = _profiles.settings_for(notebook, name, knobs, tiny=tiny)
    seed_everything(int(seed), deterministic=bool(settings.get("deterministic", True)))
    set_plot_defaults()
    run = Run(notebook, name, why, settings, data_source, data_dir, output_dir, int(seed), machine, tiny=tiny)
    if verbose:
        print(_report(run))
    return run
