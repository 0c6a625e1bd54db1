"""Dataset and weights manifests: ``data_manifest/<name>.yaml`` (taught in 00_setup).

Each manifest says what a dataset is, where it comes from, how to check it and what it looks
like after extraction. The schema is checked here so that a typo fails in the tests, not in a
learner's notebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import yaml

from course_utils.setup.config import manifest_dir

KINDS = ("dataset", "weights")
ACCESS = ("download", "kaggle", "package")
ARCHIVES = ("none", "gz", "tar", "tar.gz", "zip")
HASH_KINDS = ("sha256", "md5", "sha256_prefix")
REQUIRED = ("name", "title", "kind", "homepage", "licence", "citation", "access", "files", "layout", "notes")


class ManifestError(ValueError):
    """A manifest that does not follow the schema."""


@dataclass
class FileEntry:
    name: str
    urls: list[str]
    size: int | None
    hash_kind: str | None        # "sha256", "md5" (published), "sha256_prefix" or None
    hash_value: str | None
    hash_note: str = ""
    archive: str = "none"
    mirror_path: str = ""        # path under a mirror, e.g. "mnist/train-images-idx3-ubyte.gz"
    extract_to: str = ""         # sub-folder of the dataset folder to extract into
    extracted_size: int | None = None  # bytes after extraction (archives); bounds what is written

    @property
    def pooch_hash(self) -> str | None:
        if self.hash_kind in ("sha256", "md5") and self.hash_value:
            return f"{self.hash_kind}:{self.hash_value}"
        return None


@dataclass
class Manifest:
    name: str
    title: str
    kind: str
    homepage: str
    licence: str
    citation: str
    access: str
    files: list[FileEntry]
    layout: str
    notes: list[str]
    classes: list[str] = field(default_factory=list)
    local_names: list[str] = field(default_factory=list)
    instructions: str = ""
    package: str = ""
    synthetic: str = ""
    install_to: str = ""
    raw: dict = field(default_factory=dict)


def _parse_file(name: str, entry: dict) -> FileEntry:
    if "name" not in entry:
        raise ManifestError(f"{name}: a file entry has no 'name'")
    hashes = [k for k in HASH_KINDS if entry.get(k)]
    if len(hashes) > 1:
        # Prefer the strongest checksum that is recorded.
        hashes = [k for k in ("sha256", "md5", "sha256_prefix") if k in hashes][:1]
    if not hashes and not entry.get("hash_note"):
        raise ManifestError(f"{name}/{entry['name']}: give sha256, md5 or sha256_prefix, "
                            f"or a 'hash_note' saying why none is published")
    archive = str(entry.get("archive", "none"))
    if archive not in ARCHIVES:
        raise ManifestError(f"{name}/{entry['name']}: archive {archive!r} is not one of {ARCHIVES}")
    urls = entry.get("urls") or ([entry["url"]] if entry.get("url") else [])
    return FileEntry(
        name=entry["name"], urls=list(urls), size=entry.get("size"),
        hash_kind=hashes[0] if hashes else None,
        hash_value=str(entry[hashes[0]]).lower() if hashes else None,
        hash_note=entry.get("hash_note", ""), archive=archive,
        mirror_path=entry.get("mirror_path", f"{name}/{entry['name']}"),
        extract_to=entry.get("extract_to", ""),
        extracted_size=entry.get("extracted_size"),
    )


def parse_manifest(data: dict, source: str = "<dict>") -> Manifest:
    """Validate one manifest dict and return a :class:`Manifest`."""
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ManifestError(f"{source}: missing keys {missing}")
    if data["kind"] not in KINDS:
        raise ManifestError(f"{source}: kind {data['kind']!r} is not one of {KINDS}")
    if data["access"] not in ACCESS:
        raise ManifestError(f"{source}: access {data['access']!r} is not one of {ACCESS}")
    if not isinstance(data["notes"], list):
        raise ManifestError(f"{source}: 'notes' must be a list")
    files = [_parse_file(data["name"], f) for f in data["files"]]
    if data["access"] == "download" and any(not f.urls for f in files):
        raise ManifestError(f"{source}: every file of a downloadable dataset needs a url")
    if data["access"] in ("kaggle",) and not data.get("instructions"):
        raise ManifestError(f"{source}: a Kaggle dataset needs 'instructions' for the learner")
    if data["access"] == "package" and not data.get("package"):
        raise ManifestError(f"{source}: access 'package' needs the PyPI 'package' name")
    if data["kind"] == "dataset" and not data.get("classes"):
        raise ManifestError(f"{source}: a dataset lists its 'classes'")
    return Manifest(
        name=data["name"], title=data["title"], kind=data["kind"], homepage=data["homepage"],
        licence=data["licence"], citation=data["citation"], access=data["access"], files=files,
        layout=data["layout"], notes=list(data["notes"]), classes=list(data.get("classes") or []),
        local_names=list(data.get("local_names") or [data["name"]]),
        instructions=data.get("instructions", ""), package=data.get("package", ""),
        synthetic=data.get("synthetic", ""), install_to=data.get("install_to", ""), raw=data,
    )


@cache
def load_all() -> dict[str, Manifest]:
    """Every manifest in the manifest folder, by name."""
    out = {}
    for path in sorted(manifest_dir().glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        m = parse_manifest(data, source=path.name)
        if m.name != path.stem:
            raise ManifestError(f"{path.name}: name {m.name!r} must equal the file name")
        out[m.name] = m
    return out


def get(name: str) -> Manifest:
    """The manifest called ``name``, with a helpful error for typos."""
    allm = load_all()
    if name not in allm:
        raise KeyError(f"no manifest called {name!r}; known: {', '.join(sorted(allm))}")
    return allm[name]
