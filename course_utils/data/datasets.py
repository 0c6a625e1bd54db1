"""Resolving a dataset for a notebook: ``data_dir`` > ``$COURSE_DATA_ROOT`` > cache > mirror >
download > synthetic (taught in 00_setup; used by every notebook through ``run.get_data``).

``data_source`` decides what happens when no real copy can be had:
``auto`` falls back to the synthetic stand-in with a loud banner, ``real`` stops with a clear
error naming what to do, ``synthetic`` always uses the stand-in.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_utils.data import manifest as _manifest
from course_utils.data import synthetic as _synthetic
from course_utils.data.fetch import COMPLETE_MARKER, DataUnavailable, fetch, file_digest
from course_utils.errors import CourseError
from course_utils.setup.config import data_home, data_roots, display_path

DATA_SOURCES = ("auto", "real", "synthetic")


class DataDirError(CourseError, FileNotFoundError):
    """``data_dir`` that is not a folder (also a ``FileNotFoundError``, as it used to be)."""


@dataclass
class DataInfo:
    """Where a dataset came from; ``provenance()`` goes into the metrics file."""
    name: str
    title: str
    root: Path
    source: str                  # data_dir / cache / mirror / download / package / synthetic / unavailable
    origin: str = ""
    synthetic: bool = False
    licence: str = ""
    homepage: str = ""
    counts: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: str = ""             # the whole message of why no real copy could be had

    @property
    def real(self) -> bool:
        return not self.synthetic and self.source != "unavailable"

    def provenance(self) -> dict:
        # the metrics file is published with the stored notebooks: no absolute path of the machine
        return {"dataset": self.name, "title": self.title, "source": self.source, "origin": shown_origin(self.origin),
                "real": self.real, "synthetic": self.synthetic, "licence": self.licence,
                "homepage": self.homepage, "counts": self.counts, "notes": self.notes}


def shown_origin(origin: str) -> str:
    """``origin`` with each local path written as ``display_path`` writes it; URLs and words stay."""
    def one(part: str) -> str:
        path, sep, rest = part.partition(" (")   # "<path> (found through ...)"
        return display_path(path) + sep + rest if Path(path).is_absolute() else part
    return "; ".join(one(part) for part in origin.split("; "))


_NETWORK_REASONS = [  # (text in the exception, what it means), first match wins
    (("NameResolutionError", "Name or service not known", "Temporary failure in name resolution",
      "nodename nor servname", "getaddrinfo failed"), "name resolution failed (no network, or no DNS)"),
    (("Connection refused",), "the connection was refused"),
    (("timed out", "Timeout"), "the connection timed out"),
    (("Network is unreachable", "No route to host"), "the network is unreachable"),
    (("CERTIFICATE_VERIFY_FAILED", "SSLError"), "the TLS certificate could not be verified (a proxy?)"),
    (("403", "Forbidden"), "the server refused access (HTTP 403)"),
    (("404", "Not Found"), "the file is not at that address (HTTP 404)"),
]


def network_reason(text: str) -> str | None:
    """The cause of a failed download in a few words ("name resolution failed"), or None."""
    for needles, meaning in _NETWORK_REASONS:
        if any(n in text for n in needles):
            return meaning
    return None


def unavailable_message(name: str, reason: str) -> str:
    """Why dataset ``name`` could not be had and what to do: the cause in a few words, the
    manifest's instructions for datasets that need an account (Kaggle), and the two ways out,
    ``COURSE_DATA_MIRROR`` and ``data_dir=``. Used by the synthetic banner and ``data fetch``."""
    m = _manifest.get(name)
    lines = [l.strip() for l in str(reason).splitlines() if l.strip()]
    cause = network_reason(str(reason))
    out = [f"Why: {cause}." if cause else f"Why: {lines[0] if lines else 'no real copy could be had'}"]
    if cause:  # the addresses tried, shortened
        out += ["  tried: " + l.split(": ")[0][:120] for l in lines if "://" in l.split(": ")[0]][:4]
    if m.access != "download" and getattr(m, "instructions", ""):
        out += [f"How to get it (homepage: {m.homepage}):"] + ["  " + l for l in m.instructions.strip().splitlines()]
    files = ", ".join(f.name for f in m.files[:3]) + (" ..." if len(m.files) > 3 else "")
    out += ["Two ways out:",
            f"  - COURSE_DATA_MIRROR=<folder or URL> holding {name}/<file> (files: {files}),",
            "    e.g. a copy an instructor shares; then `python -m course_utils data fetch " + name + "`;",
            "  - data_dir=<folder you already have> in the notebook's parameters cell, laid out as:",
            *["      " + l for l in m.layout.strip().splitlines()[:3]]]
    return "\n".join(out)


def banner(info: DataInfo) -> str:
    why = (unavailable_message(info.name, info.reason) if info.reason
           else f"Why: {info.origin}")
    return ("!" * 78 + f"\nSYNTHETIC STAND-IN DATA for {info.title}.\n"
            "These images are generated shapes and colours, not the real dataset. The notebook runs\n"
            "end to end, but every number below says nothing about the real task.\n"
            f"{why}\n" + "!" * 78)


def _from_roots(m: _manifest.Manifest) -> Path | None:
    for root in data_roots():
        for local in m.local_names:
            if (root / local).is_dir():
                return root / local
    return None


def synthetic_dataset(name: str, seed: int = 0, size: int | None = None) -> Path:
    """Generate (once) and return the synthetic stand-in for ``name`` in its real layout."""
    m = _manifest.get(name)
    if not m.synthetic:
        raise DataUnavailable(f"{name} has no synthetic stand-in")
    key = hashlib.sha1(json.dumps([name, seed, size]).encode()).hexdigest()[:8]
    final = data_home() / "synthetic" / f"{name}-seed{seed}-{key}"
    if (final / _synthetic.MARKER).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=final.parent))
    try:
        _synthetic.make(m.synthetic, tmp, seed, m.classes, size)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def get_dataset(name: str, data_dir: str | os.PathLike | None = None, data_source: str = "auto",
                seed: int = 0, synthetic_size: int | None = None, progress: bool = True) -> DataInfo:
    """Find dataset ``name`` and say where it came from. See the module docstring for the order."""
    if data_source not in DATA_SOURCES:
        raise CourseError(f"data_source={data_source!r} is not one of {DATA_SOURCES}.", setting="data_source",
                          fix="use 'auto' (real data if it can be had, else a labelled synthetic stand-in), "
                              "'real' or 'synthetic'.")
    m = _manifest.get(name)
    info = DataInfo(name=name, title=m.title, root=Path("."), source="", licence=m.licence,
                    homepage=m.homepage, notes=list(m.notes))
    if data_source == "synthetic":
        info.root, info.source, info.synthetic = synthetic_dataset(name, seed, synthetic_size), "synthetic", True
        info.origin = "data_source='synthetic' was requested"
        return info
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataDirError(f"data_dir={str(data_dir)!r} is not a folder.", setting="data_dir",
                               fix=f"pass the folder that holds {m.title}, laid out as:\n{m.layout.strip()}")
        info.root, info.source, info.origin = path.resolve(), "data_dir", str(path.resolve())
        return info
    local = _from_roots(m)
    if local is not None:
        info.root, info.source, info.origin = local, "data_dir", f"{local} (found through $COURSE_DATA_ROOT)"
        return info
    try:
        res = fetch(name, progress=progress)
        info.root, info.source, info.origin = res.path, res.source, res.origin
        return info
    except DataUnavailable as err:
        reason = str(err)
    except CourseError:  # a setting to fix (an unusable cache folder...): say so, never hide it
        raise
    except Exception as err:  # network errors and the like
        reason = f"{type(err).__name__}: {err}"
    if data_source == "real":
        raise DataUnavailable(f"{m.title} is needed (data_source='real') but could not be had.\n{reason}")
    info.root, info.source, info.synthetic = synthetic_dataset(name, seed, synthetic_size), "synthetic", True
    info.origin = "no real copy could be had: " + (network_reason(reason) or reason.splitlines()[0])
    info.reason = reason
    return info


def get_weights(name: str, progress: bool = True) -> DataInfo:
    """Find a weights file; ``source='unavailable'`` (never an exception) when it cannot be had,
    so a notebook can fall back to another backbone and say so."""
    m = _manifest.get(name)
    info = DataInfo(name=name, title=m.title, root=Path("."), source="unavailable", licence=m.licence,
                    homepage=m.homepage, notes=list(m.notes))
    try:
        res = fetch(name, progress=progress)
        info.root, info.source, info.origin = res.path, res.source, res.origin
    except Exception as err:
        cause = network_reason(str(err))
        # the whole reason, every mirror and URL tried on one line: "could not fetch X:" alone says nothing
        info.origin = (f"{type(err).__name__}: " + "; ".join(ln.strip() for ln in str(err).splitlines() if ln.strip())
                       + (f" ({cause})" if cause else ""))
        info.reason = str(err)
    return info


def _has_images(folder: Path) -> bool:
    from course_utils.data.scan import IMAGE_EXTENSIONS

    return any(f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS for f in folder.iterdir())


def find_image_root(path: str | Path) -> Path:
    """Descend through single wrapper folders (``flower_photos/``, ``PetImages/``...) to the
    folder whose sub-folders hold images. A single sub-folder that holds images itself is a
    class, not a wrapper: the scan then says plainly that only one class is present."""
    path = Path(path)
    while True:
        subdirs = [d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "__"))]
        files = [f for f in path.iterdir() if f.is_file() and not f.name.startswith(".")]
        if len(subdirs) == 1 and not files and not _has_images(subdirs[0]):
            path = subdirs[0]
        else:
            return path


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Reads pickles made of plain containers and NumPy arrays, and nothing else: no other
    class or function is looked up, so a tampered file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
               ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}: a CIFAR batch holds only lists and arrays")


def _verified_digests(folder: Path) -> dict:
    """sha256 of the files the course extracted from a checksum-verified archive (its marker),
    keyed by absolute path; empty for folders the course did not extract."""
    for up in (folder, *folder.parents):
        marker = up / COMPLETE_MARKER
        if marker.is_file():
            try:
                contents = json.loads(marker.read_text()).get("contents") or {}
            except ValueError:
                return {}
            return {str((up / rel).resolve()): v[1] for rel, v in contents.items()}
    return {}


def read_cifar_batch(path: Path, verified: dict | None = None) -> dict:
    """One CIFAR python batch. Unpickled with ``pickle`` only when its sha256 matches the copy
    the course extracted from the manifest-checked archive; any other file (a ``data_dir`` of
    yours, the synthetic stand-in) is read by an unpickler that builds only lists and arrays and
    cannot run code, and a file that needs anything else is refused with a reason."""
    path = Path(path)
    verified = _verified_digests(path.parent) if verified is None else verified
    with open(path, "rb") as fh:
        if verified.get(str(path.resolve())) == file_digest(path):
            return pickle.load(fh, encoding="bytes")
        try:
            return _ArraysOnlyUnpickler(fh, encoding="bytes").load()
        except pickle.UnpicklingError as err:
            raise CourseError(f"{path} is not a plain CIFAR batch and was not unpickled ({err}).",
                              setting="data_dir",
                              fix="use the official cifar-10-python.tar.gz (the course checks its md5), "
                                  "or a folder of train/<class>/ and test/<class>/ images.") from None


def _cifar_arrays_from_batches(folder: Path):
    verified = _verified_digests(folder)
    if not verified:
        print(f"CIFAR batches in {folder} were not extracted by the course from the checksum-verified "
              "archive: they are read with a restricted unpickler (lists and arrays only, no code runs).")

    def read(fname):
        d = read_cifar_batch(folder / fname, verified)
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], dtype=np.int64)

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    xte, yte = read("test_batch")
    return xtr, ytr, xte, yte


def _cifar_arrays_from_folders(root: Path, pick):
    """Read ``train/`` and ``test/`` image folders; ``pick(split, n)`` chooses which of the n clean
    files to decode (sub-sampling before decoding, not after)."""
    from course_utils.data.scan import load_rgb, scan_folder

    out = []
    for split in ("train", "test"):
        rep = scan_folder(root / split)
        idx = {c: CIFAR10_CLASSES.index(c) if c in CIFAR10_CLASSES else rep.classes.index(c) for c in rep.classes}
        sel = pick(split, len(rep.files))
        all_paths = rep.paths  # a property that builds the list: call it once
        paths = [all_paths[i] for i in sel]
        xs = np.stack([np.asarray(load_rgb(p).resize((32, 32))) for p in paths])
        ys = np.asarray([idx[rep.labels[i]] for i in sel], dtype=np.int64)
        out += [xs, ys]
    return tuple(out)


def load_cifar10(info: DataInfo, n_train: int | None = None, n_test: int | None = None, seed: int = 0):
    """CIFAR-10 as uint8 arrays ``(x_train, y_train, x_test, y_test)``, shape (N, 32, 32, 3).

    Reads the official python batches (``cifar-10-batches-py/``) or a folder
    ``train/<class>/*``, ``test/<class>/*`` of images. Sub-samples ``n_train``/``n_test`` at
    random with ``seed`` (a random subset is class-balanced in expectation; the first N of a
    class-sorted image folder would not be). Used in 01, 02, 03.
    """
    root = Path(info.root)
    rng = np.random.default_rng(seed)
    wanted = {"train": n_train, "test": n_test}

    def pick(split: str, n: int) -> np.ndarray:
        # The same draw for both layouts: a seeded permutation, the first n_<split>, sorted.
        k = wanted[split]
        return np.sort(rng.permutation(n)[:k]) if k is not None and k < n else np.arange(n)

    batches = next((p for p in [root, *root.glob("*")] if (p / "data_batch_1").exists()), None)
    if batches is not None:
        xtr, ytr, xte, yte = _cifar_arrays_from_batches(batches)
        sel = pick("train", len(xtr))
        xtr, ytr = xtr[sel], ytr[sel]
        sel = pick("test", len(xte))
        xte, yte = xte[sel], yte[sel]
    elif (root / "train").is_dir() and (root / "test").is_dir():
        xtr, ytr, xte, yte = _cifar_arrays_from_folders(root, pick)
    else:
        raise FileNotFoundError(f"{root} holds neither cifar-10-batches-py/ nor train/ and test/ image folders")
    info.counts = {"train": int(len(xtr)), "test": int(len(xte))}
    return xtr, ytr, xte, yte
