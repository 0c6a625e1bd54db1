"""Hand-offs between notebooks: a named artifacts folder, each artifact with a record of the run
that made it (taught in 10_transfer_learning; used in 11_fine_tuning and 12_class_activation_maps).

A notebook that produces something a later notebook needs (09's GAP model, 10's best frozen-base
model, 11's fine-tuned model) saves it with :func:`save_artifact` into ``<output_dir>/artifacts/``
together with ``<name>.json``: which notebook made it, on which profile and seed, the metrics that
matter, when, and on which data. A later notebook calls :func:`find_artifact` and prints
:func:`describe` of the record, or -- when there is none -- trains its own quick stand-in and says so.
Results then never depend silently on which notebooks ran before, in which folder.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

ARTIFACTS_DIRNAME = "artifacts"
#: Keys every record carries (``file`` and ``created`` are filled in by :func:`save_artifact`).
RECORD_KEYS = ("notebook", "profile", "seed", "metrics", "data")


def artifacts_dir(output_dir) -> Path:
    """``<output_dir>/artifacts``: the one folder where notebooks leave models for later notebooks."""
    return Path(output_dir) / ARTIFACTS_DIRNAME


def _check_name(name: str) -> str:
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"artifact name {name!r} must be a plain file stem such as '10_keras_frozen_best'")
    return name


def save_artifact(model_path_or_obj, name: str, record: dict, output_dir) -> Path:
    """Store an artifact as ``<output_dir>/artifacts/<name><suffix>`` and its record as ``<name>.json``.

    ``model_path_or_obj`` is a file the notebook wrote (copied in unless it is already there), a
    Keras model (saved as ``.keras``) or anything ``torch.save`` takes (saved as ``.pt``).
    ``record`` needs :data:`RECORD_KEYS`; the artifact's file name and the date are added.
    Returns the artifact's path.
    """
    _check_name(name)
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise ValueError(f"the record of artifact {name!r} lacks {missing}")
    folder = artifacts_dir(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    obj = model_path_or_obj
    if isinstance(obj, (str, Path)):
        src = Path(obj)
        if not src.is_file():
            raise FileNotFoundError(f"save_artifact: {src} is not a file")
        dest = folder / f"{name}{''.join(src.suffixes) or src.suffix}"
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
    elif hasattr(obj, "save") and hasattr(obj, "layers"):          # a Keras model
        dest = folder / f"{name}.keras"
        obj.save(dest)
    else:
        import torch

        dest = folder / f"{name}.pt"
        torch.save(obj, dest)
    doc = {"name": name, "file": dest.name, **record,
           "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (folder / f"{name}.json").write_text(json.dumps(doc, indent=1, default=_plain))
    return dest


def _plain(value):
    """NumPy scalars and arrays, paths and the like as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def find_artifact(name: str, output_dir) -> tuple[Path, dict] | None:
    """``(path, record)`` of artifact ``name`` in ``<output_dir>/artifacts/``, or ``None`` when it
    is absent, its record is missing or unreadable, or the record names a file that is not there."""
    folder = artifacts_dir(output_dir)
    rec_path = folder / f"{_check_name(name)}.json"
    if not rec_path.is_file():
        return None
    try:
        record = json.loads(rec_path.read_text())
    except (OSError, ValueError):
        return None
    path = folder / str(record.get("file", ""))
    if not record.get("file") or not path.is_file():
        return None
    return path, record


def describe(record: dict, keys=None) -> str:
    """One line saying which run made an artifact: notebook, profile, seed, date, data, metrics."""
    metrics = record.get("metrics") or {}
    shown = {k: metrics[k] for k in (keys or metrics) if k in metrics}
    nums = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
    data = record.get("data") or {}
    titles = ", ".join(str(d.get("title", k)) for k, d in data.items()
                       if isinstance(d, dict) and d.get("real", True) and not str(k).endswith("_notop")
                       and "weights" not in str(d.get("title", "")).lower()) or "-"
    synth = " [SYNTHETIC data]" if any(isinstance(d, dict) and d.get("synthetic") for d in data.values()) else ""
    return (f"{record.get('file', record.get('name'))}: made by {record.get('notebook')} "
            f"({record.get('profile')} profile, seed {record.get('seed')}, {record.get('created', '?')}) "
            f"on {titles}{synth}" + (f"; {nums}" if nums else ""))
